// The plain parameterization: the pixels are the values, kept in [0, 1].
import { FvizError } from '../../errors.ts';
import { nchw, type Nchw } from '../../image/nchw.ts';
import type { Rng } from '../../util/rng.ts';
import type { Param } from './param.ts';

export interface PixelParamOptions {
  /** Noise around mid-grey (default 0.1). */
  initStd?: number;
  /** Start from these images instead ([N or 1, 3, H, W] in [0, 1]; members repeat over the batch). */
  initImage?: Nchw;
  /** Clip to [0, 1] after every step (default true). */
  clamp?: boolean;
}

export function clamp01(x: Nchw): void {
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

/** Pixels of an existing image (not copied: the image is the parameter). */
export function pixelsOf(image: Nchw, clamp = true): Param {
  const [n] = image.dims;
  return {
    values: image.data,
    itemSize: image.data.length / n,
    pixels: image,
    render: async () => image,
    backward: async (g) => g.data,
    afterStep: clamp ? () => clamp01(image) : undefined,
  };
}

/** N images of H x W, from noise around mid-grey (drawn from `rng`) or from `initImage`. */
export function pixelParam(n: number, h: number, w: number, rng: Rng, o: PixelParamOptions = {}): Param {
  const image = nchw(n, 3, h, w);
  if (o.initImage) {
    const [n0, c0, h0, w0] = o.initImage.dims;
    if (c0 !== 3 || h0 !== h || w0 !== w) throw new FvizError(`initial image is ${c0}x${h0}x${w0}; the classifier takes 3x${h}x${w}`);
    for (let k = 0; k < n; k++) image.data.set(o.initImage.data.subarray((k % n0) * 3 * h * w, ((k % n0) + 1) * 3 * h * w), k * 3 * h * w);
  } else {
    const std = o.initStd ?? 0.1;
    for (let i = 0; i < image.data.length; i++) image.data[i] = 0.5 + std * rng.normal();
    clamp01(image);
  }
  return pixelsOf(image, o.clamp ?? true);
}
