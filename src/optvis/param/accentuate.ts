// Feature accentuation's parameterization (Hamblin et al. 2024): a full Fourier spectrum per channel
// started from a seed image, image = sigmoid(recorrelate(Re(ifft2(s * Z)))) with s(k) = sqrt(h w)
// (f0 / max(|k|, f0))^decay, f0 = 1 / max(h, w). The scale sits in the forward map as in Lucid rather than
// only on the backward pass as in Horama: Adam-type optimizers normalize each coordinate, which cancels
// a gradient-only scale, while the forward scale makes low frequencies move faster in image space.
import { FvizError } from '../../errors.ts';
import { nchw, type Nchw } from '../../image/nchw.ts';
import { fftFreq } from '../../render/fft.ts';
import type { Param } from './param.ts';
import { fft2Real, ifft2Real, ifft2RealAdjoint, mixColors } from './spectral.ts';
import { COLOR_DECORRELATION_INVERSE } from './color.ts';

export interface AccentParam extends Param {
  /** The seed as this parameterization renders it (sigmoid of the clamped logit: equal to the seed up to the clamp). */
  readonly seed: Nchw;
}

/** The 1/f^decay spectrum scale, [h * w] in fft2 order. */
export function spectrumScale(h: number, w: number, decay: number): Float64Array {
  const f0 = 1 / Math.max(h, w);
  const s = new Float64Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) s[y * w + x] = Math.sqrt(h * w) * (f0 / Math.max(Math.hypot(fftFreq(y, h), fftFreq(x, w)), f0)) ** decay;
  return s;
}

/** The seed images ([N, 3, H, W] in [0, 1]) as a spectrum parameterization. */
export async function accentImage(seed: Nchw, o: { decay: number; eps?: number }): Promise<AccentParam> {
  const [n, c, h, w] = seed.dims;
  if (c !== 3) throw new FvizError(`feature accentuation needs an RGB seed image, got ${c} channels`);
  const hw = h * w;
  const scale = spectrumScale(h, w, o.decay);
  const eps = o.eps ?? 1e-3;
  // Z = fft2(decorrelate(logit(seed))) / s, real parts then imaginary parts per plane.
  const values = new Float32Array(n * 3 * hw * 2);
  const inv = COLOR_DECORRELATION_INVERSE;
  for (let i = 0; i < n; i++) {
    const l = new Float64Array(3 * hw);
    for (let k = 0; k < 3 * hw; k++) {
      const v = Math.min(1 - eps, Math.max(eps, seed.data[i * 3 * hw + k]!));
      l[k] = Math.log(v / (1 - v));
    }
    const d = new Float64Array(3 * hw);
    for (let p = 0; p < hw; p++) for (let a = 0; a < 3; a++) d[a * hw + p] = inv[3 * a]! * l[p]! + inv[3 * a + 1]! * l[hw + p]! + inv[3 * a + 2]! * l[2 * hw + p]!;
    for (let ch = 0; ch < 3; ch++) {
      const F = fft2Real(d.subarray(ch * hw, (ch + 1) * hw), h, w);
      const base = (i * 3 + ch) * 2 * hw;
      for (let k = 0; k < hw; k++) {
        values[base + k] = F.re[k]! / scale[k]!;
        values[base + hw + k] = F.im[k]! / scale[k]!;
      }
    }
  }
  let image = nchw(n, 3, h, w);
  const render = async (): Promise<Nchw> => {
    image = nchw(n, 3, h, w);
    const re = new Float64Array(hw);
    const im = new Float64Array(hw);
    const plane = new Float64Array(hw);
    for (let i = 0; i < n; i++) {
      const z = new Float64Array(3 * hw);
      for (let ch = 0; ch < 3; ch++) {
        const base = (i * 3 + ch) * 2 * hw;
        for (let k = 0; k < hw; k++) {
          re[k] = scale[k]! * values[base + k]!;
          im[k] = scale[k]! * values[base + hw + k]!;
        }
        ifft2Real(re, im, h, w, plane);
        z.set(plane, ch * hw);
      }
      mixColors(z, hw);
      for (let k = 0; k < 3 * hw; k++) image.data[i * 3 * hw + k] = 1 / (1 + Math.exp(-z[k]!));
    }
    return image;
  };
  const seedImage = await render();
  return {
    values,
    itemSize: 3 * hw * 2,
    seed: { ...seedImage, data: seedImage.data.slice() },
    render,
    async backward(g: Nchw): Promise<Float32Array> {
      const out = new Float32Array(values.length);
      for (let i = 0; i < n; i++) {
        const gz = new Float64Array(3 * hw);
        for (let k = 0; k < 3 * hw; k++) {
          const s = image.data[i * 3 * hw + k]!;
          gz[k] = g.data[i * 3 * hw + k]! * s * (1 - s);
        }
        mixColors(gz, hw, true);
        for (let ch = 0; ch < 3; ch++) {
          const { re, im } = ifft2RealAdjoint(gz.subarray(ch * hw, (ch + 1) * hw), h, w);
          const base = (i * 3 + ch) * 2 * hw;
          for (let k = 0; k < hw; k++) {
            out[base + k] = scale[k]! * re[k]!;
            out[base + hw + k] = scale[k]! * im[k]!;
          }
        }
      }
      return out;
    },
  };
}
