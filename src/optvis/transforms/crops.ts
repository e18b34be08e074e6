// MaCo's and feature accentuation's robustness: a random square-ish box of the image (a fraction of its
// side drawn from a range, placed uniformly) resized to the network's input, plus Gaussian noise on what
// the network sees. The noise does not change the adjoint (it is additive and independent of the image).
import { FvizError } from '../../errors.ts';
import type { Nchw, Size2 } from '../../image/nchw.ts';
import type { Rng } from '../../util/rng.ts';
import { AffineResample, composeAffine, resizeMap, translation, type Transform } from './transforms.ts';
import type { TransformSampler } from './index.ts';

class Noisy implements Transform {
  readonly inSize: Size2;
  readonly outSize: Size2;
  readonly params: Readonly<Record<string, number | readonly number[] | string>>;
  constructor(private readonly inner: Transform, private readonly std: number, private readonly rng: Rng) {
    this.inSize = inner.inSize;
    this.outSize = inner.outSize;
    this.params = { ...inner.params, noise: std };
  }
  apply(x: Nchw): Nchw {
    const y = this.inner.apply(x);
    if (this.std > 0) for (let k = 0; k < y.data.length; k++) y.data[k]! += this.std * this.rng.normal();
    return y;
  }
  adjoint(gy: Nchw): Nchw {
    return this.inner.adjoint(gy);
  }
}

/** A random box (side fraction in [min, max] of the image's) resized to `outSize`, plus N(0, noise^2). */
export function cropping(outSize: Size2, box: readonly [number, number], noise = 0): TransformSampler {
  const [lo, hi] = box;
  if (!(lo > 0 && hi <= 1 && lo <= hi)) throw new FvizError(`crop box ${lo},${hi}: give fractions of the image side with 0 < min <= max <= 1`);
  return (rng, size) => {
    const f = rng.uniform(lo, hi);
    const bh = Math.max(1, Math.round(size[0] * f));
    const bw = Math.max(1, Math.round(size[1] * f));
    const oy = rng.int(size[0] - bh + 1);
    const ox = rng.int(size[1] - bw + 1);
    const map = composeAffine(translation(oy, ox), resizeMap([bh, bw], outSize));
    const t = new AffineResample(size, outSize, map, { mode: 'edge' }, { box: [oy, ox, bh, bw] });
    return new Noisy(t, noise, rng);
  };
}
