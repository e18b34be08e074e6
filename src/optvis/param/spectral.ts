// The float64 spectral pieces MaCo and feature accentuation share: the real part of an inverse 2-D DFT
// of a full H x W spectrum and its adjoint, Lucid's colour recorrelation (COLOR_DECORRELATION) and the
// sigmoid, per image of a batch. Images here are small (classifier inputs), so plain FFTs in TypeScript.
import { fft2 } from '../../render/fft.ts';
import { COLOR_DECORRELATION } from './color.ts';

/** x = Re(ifft2(re + i im)) with numpy's normalization (divided by h w), written into `out`. */
export function ifft2Real(re: Float64Array, im: Float64Array, h: number, w: number, out: Float64Array): void {
  const r = re.slice();
  const i = im.slice();
  fft2(r, i, h, w, true);
  const n = h * w;
  for (let k = 0; k < n; k++) out[k] = r[k]! / n;
}

/** The adjoint of ifft2Real: d/d(re, im) of <g, Re(ifft2(re + i im))> = fft2(g) / (h w). */
export function ifft2RealAdjoint(g: Float64Array, h: number, w: number): { re: Float64Array; im: Float64Array } {
  const re = g.slice();
  const im = new Float64Array(g.length);
  fft2(re, im, h, w, false);
  const n = h * w;
  for (let k = 0; k < n; k++) {
    re[k]! /= n;
    im[k]! /= n;
  }
  return { re, im };
}

/** The forward 2-D DFT of a real plane: (re, im). */
export function fft2Real(x: ArrayLike<number>, h: number, w: number): { re: Float64Array; im: Float64Array } {
  const re = Float64Array.from(x);
  const im = new Float64Array(re.length);
  fft2(re, im, h, w, false);
  return { re, im };
}

/** Index of frequency -k for k = (ky, kx) on an h x w grid. */
export const mirror = (k: number, h: number, w: number) => ((h - Math.floor(k / w)) % h) * w + ((w - (k % w)) % w);

/** In place over one image [3, hw]: rgb_c = sum_d M[c][d] x_d with M = COLOR_DECORRELATION (or its transpose). */
export function mixColors(x: Float64Array, hw: number, transpose = false): void {
  const m = COLOR_DECORRELATION;
  for (let p = 0; p < hw; p++) {
    const a = x[p]!;
    const b = x[hw + p]!;
    const c = x[2 * hw + p]!;
    for (let o = 0; o < 3; o++) {
      const row = transpose ? [m[o]!, m[3 + o]!, m[6 + o]!] : [m[3 * o]!, m[3 * o + 1]!, m[3 * o + 2]!];
      x[o * hw + p] = row[0]! * a + row[1]! * b + row[2]! * c;
    }
  }
}
