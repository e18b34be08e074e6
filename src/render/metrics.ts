// Image statistics for comparing visualizations: how much of the luminance's spectral power sits at
// high frequencies, the slope of the radially averaged power spectrum (natural photographs fall off
// roughly as 1/f^2, slope -2; white noise is flat, slope 0), total variation, and mean/spread helpers.
import { FvizError } from '../errors.ts';
import type { Nchw } from '../image/nchw.ts';
import { fft2, fftFreq } from './fft.ts';

export interface Plane {
  data: Float64Array;
  h: number;
  w: number;
}

/** Rec. 601 luminance of batch member `index` (a 1-channel image is its own luminance). */
export function luminance(img: Nchw, index = 0): Plane {
  const [n, c, h, w] = img.dims;
  if (index < 0 || index >= n) throw new FvizError(`image index ${index} out of range 0..${n - 1}`);
  const P = h * w;
  const base = index * c * P;
  const out = new Float64Array(P);
  if (c === 1) for (let p = 0; p < P; p++) out[p] = img.data[base + p]!;
  else if (c === 3) for (let p = 0; p < P; p++) out[p] = 0.299 * img.data[base + p]! + 0.587 * img.data[base + P + p]! + 0.114 * img.data[base + 2 * P + p]!;
  else throw new FvizError(`luminance of an image with ${c} channels (need 1 or 3)`);
  return { data: out, h, w };
}

/**
 * How the edges are kept from adding a spurious 1/f^2 cross to the spectrum (an image's DFT treats it as
 * periodic, so the jump between opposite edges is an edge too): 'periodic' (default) takes the spectrum
 * of the periodic component of Moisan's periodic-plus-smooth decomposition, which leaves the interior
 * untouched; 'hann' multiplies by a 2-D Hann window (leaks power into high bins on small images);
 * 'none' uses the raw DFT.
 */
export type SpectrumWindow = 'periodic' | 'hann' | 'none';

/** |DFT|^2 of the plane with its mean removed (DC is 0), edges handled as `window` says. */
export function powerSpectrum(plane: Plane, window: SpectrumWindow = 'periodic'): Float64Array {
  const { h, w } = plane;
  const P = h * w;
  const u = plane.data;
  let mean = 0;
  for (let p = 0; p < P; p++) mean += u[p]!;
  mean /= P;
  const re = new Float64Array(P);
  const im = new Float64Array(P);
  if (window === 'hann') {
    const wy = Float64Array.from({ length: h }, (_, y) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (y + 0.5)) / h));
    const wx = Float64Array.from({ length: w }, (_, x) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (x + 0.5)) / w));
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) re[y * w + x] = (u[y * w + x]! - mean) * wy[y]! * wx[x]!;
  } else {
    for (let p = 0; p < P; p++) re[p] = u[p]! - mean;
  }
  fft2(re, im, h, w);
  if (window === 'periodic') {
    // Moisan (2011): the smooth component s solves Laplacian(s) = Laplacian_boundary(u); its DFT is
    // V / (2 cos(2 pi q / h) + 2 cos(2 pi r / w) - 4), V the DFT of the boundary jumps.
    const vr = new Float64Array(P);
    const vi = new Float64Array(P);
    for (let x = 0; x < w; x++) {
      const d = u[(h - 1) * w + x]! - u[x]!;
      vr[x] += d;
      vr[(h - 1) * w + x] -= d;
    }
    for (let y = 0; y < h; y++) {
      const d = u[y * w + w - 1]! - u[y * w]!;
      vr[y * w] += d;
      vr[y * w + w - 1] -= d;
    }
    fft2(vr, vi, h, w);
    for (let q = 0; q < h; q++)
      for (let r = 0; r < w; r++) {
        if (q === 0 && r === 0) continue;
        const den = 2 * Math.cos((2 * Math.PI * q) / h) + 2 * Math.cos((2 * Math.PI * r) / w) - 4;
        const p = q * w + r;
        re[p] -= vr[p]! / den;
        im[p] -= vi[p]! / den;
      }
  }
  const power = new Float64Array(P);
  for (let p = 1; p < P; p++) power[p] = re[p]! * re[p]! + im[p]! * im[p]!;
  return power;
}

/** Radial frequency of each DFT bin in cycles per pixel. */
function radialFrequency(h: number, w: number): Float64Array {
  const f = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    const fy = fftFreq(y, h);
    for (let x = 0; x < w; x++) f[y * w + x] = Math.hypot(fy, fftFreq(x, w));
  }
  return f;
}

export interface SpectrumOptions {
  /** Batch member (default 0). */
  index?: number;
  window?: SpectrumWindow;
}

/**
 * Fraction of the luminance's spectral power (mean removed) at radial frequencies above `cutoff` times
 * Nyquist (default 0.25). White noise gives about 0.95; photographs a few percent.
 */
export function highFrequencyRatio(img: Nchw, o: SpectrumOptions & { cutoff?: number } = {}): number {
  const plane = luminance(img, o.index ?? 0);
  const power = powerSpectrum(plane, o.window ?? 'periodic');
  const f = radialFrequency(plane.h, plane.w);
  const limit = (o.cutoff ?? 0.25) * 0.5;
  let hi = 0;
  let total = 0;
  for (let p = 1; p < power.length; p++) {
    total += power[p]!;
    if (f[p]! > limit) hi += power[p]!;
  }
  return total > 0 ? hi / total : 0;
}

export interface RadialSpectrum {
  /** Bin centre frequencies in cycles per pixel (bin k: k / min(h, w)). */
  frequency: number[];
  /** Mean power in each bin. */
  power: number[];
}

/** Power averaged over annuli one frequency step wide, from bin 1 to Nyquist. */
export function radialPowerSpectrum(img: Nchw, o: SpectrumOptions = {}): RadialSpectrum {
  const plane = luminance(img, o.index ?? 0);
  const power = powerSpectrum(plane, o.window ?? 'periodic');
  const f = radialFrequency(plane.h, plane.w);
  const N = Math.min(plane.h, plane.w);
  const bins = Math.floor(N / 2);
  const sum = new Float64Array(bins + 1);
  const count = new Float64Array(bins + 1);
  for (let p = 0; p < power.length; p++) {
    const k = Math.round(f[p]! * N);
    if (k <= bins) {
      sum[k] += power[p]!;
      count[k]++;
    }
  }
  const frequency: number[] = [];
  const pw: number[] = [];
  for (let k = 1; k <= bins; k++)
    if (count[k]! > 0) {
      frequency.push(k / N);
      pw.push(sum[k]! / count[k]!);
    }
  return { frequency, power: pw };
}

export interface SlopeResult {
  /** d log(power) / d log(frequency): about -2 for photographs, 0 for white noise. */
  slope: number;
  intercept: number;
  /** Coefficient of determination of the log-log fit. */
  r2: number;
}

/**
 * Least-squares slope of log power against log frequency of the radially averaged luminance spectrum,
 * over bins `minBin` (default 2) up to Nyquist.
 */
export function spectrumSlope(img: Nchw, o: SpectrumOptions & { minBin?: number } = {}): SlopeResult {
  const { frequency, power } = radialPowerSpectrum(img, o);
  const N = Math.min(img.dims[2], img.dims[3]);
  const minF = (o.minBin ?? 2) / N;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < frequency.length; i++)
    if (frequency[i]! >= minF - 1e-12 && power[i]! > 0) {
      xs.push(Math.log(frequency[i]!));
      ys.push(Math.log(power[i]!));
    }
  if (xs.length < 2) return { slope: NaN, intercept: NaN, r2: NaN };
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy > 0 ? (sxy * sxy) / (sxx * syy) : 1 };
}

/** Mean absolute difference between horizontal and vertical neighbours, over all channels of member `index`. */
export function meanAbsoluteVariation(img: Nchw, index = 0): number {
  const [n, c, h, w] = img.dims;
  if (index < 0 || index >= n) throw new FvizError(`image index ${index} out of range 0..${n - 1}`);
  const P = h * w;
  let s = 0;
  let count = 0;
  for (let ch = 0; ch < c; ch++) {
    const d = img.data.subarray((index * c + ch) * P, (index * c + ch + 1) * P);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const v = d[y * w + x]!;
        if (x + 1 < w) {
          s += Math.abs(d[y * w + x + 1]! - v);
          count++;
        }
        if (y + 1 < h) {
          s += Math.abs(d[(y + 1) * w + x]! - v);
          count++;
        }
      }
  }
  return count > 0 ? s / count : 0;
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length > 0 ? s / values.length : NaN;
}

/** Sample standard deviation (n - 1); 0 for a single value. */
export function std(values: ArrayLike<number>): number {
  const n = values.length;
  if (n < 2) return n === 1 ? 0 : NaN;
  const m = mean(values);
  let s = 0;
  for (let i = 0; i < n; i++) s += (values[i]! - m) ** 2;
  return Math.sqrt(s / (n - 1));
}

export function meanStd(values: ArrayLike<number>): { mean: number; std: number; n: number } {
  return { mean: mean(values), std: std(values), n: values.length };
}

export interface ImageMetrics {
  /** Fraction of luminance power above 1/4 of Nyquist. */
  hfRatio: number;
  /** Radially averaged power-spectrum slope of the luminance. */
  spectrumSlope: number;
  /** Mean absolute neighbour difference. */
  tv: number;
  /** Fraction of values blown out to black or white (see saturatedFraction). */
  saturated: number;
  /** Mean and standard deviation of all pixel values. */
  mean: number;
  std: number;
}

/**
 * Fraction of the values (in [0,1]) blown out: 8-bit levels <= 2 or >= 253. Optimization pushed past what a
 * generator or a parameterization can draw blows images out to flat white or black; CIFAR-10's test images
 * have about 2.6% of such values.
 */
/** saturatedFraction of 8-bit values (a dataset's own pixels): <= 2 or >= 253. */
export function saturatedBytes(data: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (data[i]! <= 2 || data[i]! >= 253) n++;
  return n / Math.max(1, data.length);
}

export function saturatedFraction(data: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v <= 2.5 / 255 || v >= 252.5 / 255) n++;
  }
  return n / Math.max(1, data.length);
}

/** Every metric above for batch member `index`. */
export function imageMetrics(img: Nchw, index = 0): ImageMetrics {
  const [, c, h, w] = img.dims;
  const px = img.data.subarray(index * c * h * w, (index + 1) * c * h * w);
  let m = 0;
  for (let i = 0; i < px.length; i++) m += px[i]!;
  m /= px.length;
  let v = 0;
  for (let i = 0; i < px.length; i++) v += (px[i]! - m) ** 2;
  return {
    hfRatio: highFrequencyRatio(img, { index }),
    spectrumSlope: spectrumSlope(img, { index }).slope,
    tv: meanAbsoluteVariation(img, index),
    saturated: saturatedFraction(px),
    mean: m,
    std: Math.sqrt(v / px.length),
  };
}
