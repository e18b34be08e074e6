// MaCo (Fel et al. 2023, magnitude-constrained optimization): only the Fourier phase is optimized; the
// magnitude is fixed to a dataset's average spectrum. image = sigmoid(recorrelate(standardize(x))) with
// x = Re(ifft2(M e^{i phi})). The phase is made odd (phi(k) - phi(-k)) / 2 and the magnitude even, so the
// spectrum is Hermitian: x is real with exactly the spectrum M e^{i phi}, i.e. the magnitude is kept
// exactly, not only approximately as with irfft2 of an arbitrary half spectrum. The accumulated
// |d objective / d image| is the transparency map (Horama's transparency accumulator).
import { FvizError } from '../../errors.ts';
import { nchw, type Nchw } from '../../image/nchw.ts';
import type { Rng } from '../../util/rng.ts';
import type { Param } from './param.ts';
import { ifft2Real, ifft2RealAdjoint, mirror, mixColors } from './spectral.ts';

export interface MacoOptions {
  /** The fixed magnitude, [3, H, W] full-spectrum layout (fft2 order); made even in k here. */
  magnitude: Float64Array;
  /** Std of the random initial phase (Horama: 1). */
  phaseStd?: number;
}

export interface MacoParam extends Param {
  /** Sum over steps of |d objective / d image|, [N, 3, H, W]. */
  readonly transparency: Float64Array;
  /** x = Re(ifft2(M e^{i phi})) of the last render, before standardization, [N, 3, H, W]. */
  spatial(): Float64Array;
  /** The even magnitude in use, [3, H, W]. */
  readonly magnitude: Float64Array;
}

/** The magnitude made even: (M(k) + M(-k)) / 2 per channel. */
export function evenMagnitude(m: Float64Array, h: number, w: number): Float64Array {
  const hw = h * w;
  if (m.length !== 3 * hw) throw new FvizError(`MaCo magnitude has ${m.length} values; a ${h}x${w} image needs 3 x ${h} x ${w} = ${3 * hw}`);
  const out = new Float64Array(m.length);
  for (let c = 0; c < 3; c++) for (let k = 0; k < hw; k++) out[c * hw + k] = (m[c * hw + k]! + m[c * hw + mirror(k, h, w)]!) / 2;
  return out;
}

export function macoImage(n: number, h: number, w: number, rng: Rng, o: MacoOptions): MacoParam {
  const hw = h * w;
  const mag = evenMagnitude(o.magnitude, h, w);
  const phase = new Float32Array(n * 3 * hw);
  rng.fillNormal(phase, o.phaseStd ?? 1);
  const transparency = new Float64Array(n * 3 * hw);
  const spatial = new Float64Array(n * 3 * hw);
  const standardized = new Float64Array(n * 3 * hw);
  const sigma = new Float64Array(n);
  let image: Nchw = nchw(n, 3, h, w);
  const odd = (base: number, k: number) => (phase[base + k]! - phase[base + mirror(k, h, w)]!) / 2;
  return {
    values: phase,
    itemSize: 3 * hw,
    magnitude: mag,
    transparency,
    spatial: () => spatial.slice(),
    async render(): Promise<Nchw> {
      image = nchw(n, 3, h, w);
      const re = new Float64Array(hw);
      const im = new Float64Array(hw);
      const plane = new Float64Array(hw);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) {
          const base = (i * 3 + c) * hw;
          for (let k = 0; k < hw; k++) {
            const p = odd(base, k);
            const m = mag[c * hw + k]!;
            re[k] = m * Math.cos(p);
            im[k] = m * Math.sin(p);
          }
          ifft2Real(re, im, h, w, plane);
          spatial.set(plane, base);
        }
        const x = spatial.subarray(i * 3 * hw, (i + 1) * 3 * hw);
        let mean = 0;
        for (const v of x) mean += v;
        mean /= x.length;
        let varr = 0;
        for (const v of x) varr += (v - mean) ** 2;
        const sd = Math.sqrt(varr / x.length) || 1;
        sigma[i] = sd;
        const y = standardized.subarray(i * 3 * hw, (i + 1) * 3 * hw);
        for (let k = 0; k < x.length; k++) y[k] = (x[k]! - mean) / sd;
        const z = y.slice();
        mixColors(z, hw);
        for (let k = 0; k < z.length; k++) image.data[i * 3 * hw + k] = 1 / (1 + Math.exp(-z[k]!));
      }
      return image;
    },
    async backward(g: Nchw): Promise<Float32Array> {
      const out = new Float32Array(phase.length);
      for (let k = 0; k < g.data.length; k++) transparency[k]! += Math.abs(g.data[k]!);
      for (let i = 0; i < n; i++) {
        const off = i * 3 * hw;
        const gz = new Float64Array(3 * hw);
        for (let k = 0; k < gz.length; k++) {
          const s = image.data[off + k]!;
          gz[k] = g.data[off + k]! * s * (1 - s);
        }
        mixColors(gz, hw, true);
        // standardize: gx = (gy - mean(gy) - y mean(gy y)) / sigma
        const y = standardized.subarray(off, off + 3 * hw);
        let m1 = 0;
        let m2 = 0;
        for (let k = 0; k < gz.length; k++) {
          m1 += gz[k]!;
          m2 += gz[k]! * y[k]!;
        }
        m1 /= gz.length;
        m2 /= gz.length;
        for (let k = 0; k < gz.length; k++) gz[k] = (gz[k]! - m1 - y[k]! * m2) / sigma[i]!;
        for (let c = 0; c < 3; c++) {
          const base = off + c * hw;
          const { re: gr, im: gi } = ifft2RealAdjoint(gz.subarray(c * hw, (c + 1) * hw), h, w);
          const gp = new Float64Array(hw);
          for (let k = 0; k < hw; k++) {
            const p = odd(base, k);
            const m = mag[c * hw + k]!;
            gp[k] = m * (-Math.sin(p) * gr[k]! + Math.cos(p) * gi[k]!);
          }
          for (let k = 0; k < hw; k++) out[base + k] = (gp[k]! - gp[mirror(k, h, w)]!) / 2;
        }
      }
      return out;
    },
  };
}
