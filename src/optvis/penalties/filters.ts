// Pixel-space priors applied to the image between gradient steps (blur, bilateral filter, Yosinski's
// pixel clipping, L2 decay) and differentiable penalties added to the objective (L2, total variation).
// All take and return float32 NCHW batches; none modifies its input.
import { FvizError } from '../../errors.ts';
import type { Nchw } from '../../image/nchw.ts';
import { nchw } from '../../image/nchw.ts';

/** Mirror index without repeating the edge (… 2 1 | 0 1 2 … n-1 | n-2 …), periodic for any offset. */
function mirror(i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

export function gaussianKernel(sigma: number, radius = Math.max(1, Math.ceil(3 * sigma))): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp((-i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  return k;
}

/** Separable Gaussian blur of every channel, mirrored borders. sigma <= 0 returns a copy. */
export function gaussianBlur(x: Nchw, sigma: number, radius?: number): Nchw {
  const [n, c, H, W] = x.dims;
  const out = nchw(n, c, H, W);
  if (!(sigma > 0)) {
    out.data.set(x.data);
    return out;
  }
  const k = gaussianKernel(sigma, radius);
  const taps = k.length;
  const r = (taps - 1) / 2;
  const P = H * W;
  const row = new Float64Array(W + 2 * r);
  const tmp = new Float64Array(P);
  const acc = new Float64Array(W);
  const rowIdx = Int32Array.from({ length: W + 2 * r }, (_, i) => mirror(i - r, W));
  const colIdx = Int32Array.from({ length: H + 2 * r }, (_, i) => mirror(i - r, H));
  const src = x.data;
  const dst = out.data;
  for (let pl = 0; pl < n * c; pl++) {
    const base = pl * P;
    // Horizontal pass into tmp, through a mirrored copy of the row.
    for (let y = 0; y < H; y++) {
      const o = base + y * W;
      for (let i = 0; i < W + 2 * r; i++) row[i] = src[o + rowIdx[i]!]!;
      acc.fill(0);
      for (let t = 0; t < taps; t++) {
        const wt = k[t]!;
        for (let xx = 0; xx < W; xx++) acc[xx] += wt * row[xx + t]!;
      }
      tmp.set(acc, y * W);
    }
    // Vertical pass, one output row at a time, reading whole rows in order.
    for (let y = 0; y < H; y++) {
      acc.fill(0);
      for (let t = 0; t < taps; t++) {
        const w = k[t]!;
        const o = colIdx[y + t]! * W;
        for (let xx = 0; xx < W; xx++) acc[xx] += w * tmp[o + xx]!;
      }
      const d = base + y * W;
      for (let xx = 0; xx < W; xx++) dst[d + xx] = acc[xx]!;
    }
  }
  return out;
}

export interface BilateralOptions {
  /** Spatial standard deviation in pixels. */
  sigmaSpatial: number;
  /** Range standard deviation: Euclidean distance between pixel colours (all channels), in image units. */
  sigmaRange: number;
  /** Window radius (default ceil(2 * sigmaSpatial)). */
  radius?: number;
}

/**
 * Bilateral filter (Tomasi & Manduchi; used as a prior by Tyka 2016): each pixel becomes the average of
 * its neighbours weighted by spatial distance and by colour distance, so edges survive while noise is
 * smoothed. Neighbours outside the image are skipped.
 */
export function bilateralFilter(x: Nchw, o: BilateralOptions): Nchw {
  const [n, c, H, W] = x.dims;
  if (!(o.sigmaSpatial > 0) || !(o.sigmaRange > 0)) throw new FvizError(`bilateral filter: sigmas must be positive (spatial ${o.sigmaSpatial}, range ${o.sigmaRange})`);
  const r = o.radius ?? Math.max(1, Math.ceil(2 * o.sigmaSpatial));
  const P = H * W;
  const out = nchw(n, c, H, W);
  const side = 2 * r + 1;
  const spatial = new Float64Array(side * side);
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) spatial[(dy + r) * side + dx + r] = Math.exp(-(dy * dy + dx * dx) / (2 * o.sigmaSpatial ** 2));
  // exp(-t) tabulated for t = d^2 / (2 sigmaRange^2) in [0, 16), linear interpolation; beyond, weight 0.
  const LUT_STEPS = 64;
  const LUT_MAX = 16;
  const lut = new Float64Array(LUT_MAX * LUT_STEPS + 2);
  for (let i = 0; i < lut.length; i++) lut[i] = Math.exp(-i / LUT_STEPS);
  lut[lut.length - 1] = 0;
  const inv2r2 = LUT_STEPS / (2 * o.sigmaRange ** 2);
  const lutLimit = LUT_MAX * LUT_STEPS;
  const acc = new Float64Array(c);
  for (let b = 0; b < n; b++) {
    const img = x.data.subarray(b * c * P, (b + 1) * c * P);
    const dst = out.data.subarray(b * c * P, (b + 1) * c * P);
    for (let y = 0; y < H; y++) {
      const y0 = Math.max(0, y - r);
      const y1 = Math.min(H - 1, y + r);
      for (let xx = 0; xx < W; xx++) {
        const x0 = Math.max(0, xx - r);
        const x1 = Math.min(W - 1, xx + r);
        const p = y * W + xx;
        acc.fill(0);
        let wsum = 0;
        for (let qy = y0; qy <= y1; qy++) {
          const srow = (qy - y + r) * side - xx + r;
          for (let qx = x0; qx <= x1; qx++) {
            const q = qy * W + qx;
            let d2 = 0;
            for (let ch = 0; ch < c; ch++) {
              const d = img[ch * P + q]! - img[ch * P + p]!;
              d2 += d * d;
            }
            const t = d2 * inv2r2;
            if (t >= lutLimit) continue;
            const ti = t | 0;
            const f = t - ti;
            const w = spatial[srow + qx]! * (lut[ti]! + f * (lut[ti + 1]! - lut[ti]!));
            wsum += w;
            for (let ch = 0; ch < c; ch++) acc[ch] += w * img[ch * P + q]!;
          }
        }
        for (let ch = 0; ch < c; ch++) dst[ch * P + p] = acc[ch]! / wsum;
      }
    }
  }
  return out;
}

/** The value of rank floor(p/100 * (n-1)) of `v` (p in 0..100), by quickselect on a copy. */
export function percentile(values: Float64Array, p: number): number {
  const a = values.slice();
  const n = a.length;
  if (n === 0) return NaN;
  let k = Math.min(n - 1, Math.max(0, Math.floor((p / 100) * (n - 1))));
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}

/** Per-channel centre that clipped pixels are set to, and relative to which norms are measured. */
export type Center = number | readonly number[];

function centerOf(center: Center, ch: number): number {
  return typeof center === 'number' ? center : (center[ch] ?? 0);
}

export interface ClipOptions {
  /** Zero pixels whose norm across channels is below this percentile (0 = off). */
  normPercentile?: number;
  /** Zero pixels whose |sum over channels of x * grad| is below this percentile (0 = off; needs grad). */
  contributionPercentile?: number;
  /** The image's "zero" (default 0.5, mid-grey of a [0,1] image; give the mean for mean-subtracted images). */
  center?: Center;
}

export interface ClipResult {
  image: Nchw;
  /** Pixels set to the centre, per batch member. */
  clipped: number[];
}

/**
 * Yosinski et al. 2015's pixel clipping: pixels with small norm, and pixels with small contribution to
 * the objective (|sum_c x_c * grad_c|, x measured from the centre), are set to the centre. Percentiles
 * are taken over each image's pixels.
 */
export function clipPixels(x: Nchw, grad: Nchw | null, o: ClipOptions): ClipResult {
  const [n, c, H, W] = x.dims;
  const P = H * W;
  const center = o.center ?? 0.5;
  const np = o.normPercentile ?? 0;
  const cp = o.contributionPercentile ?? 0;
  if (cp > 0 && !grad) throw new FvizError('pixel clipping by contribution needs the gradient');
  if (grad && (grad.dims.join() !== x.dims.join())) throw new FvizError(`pixel clipping: gradient [${grad.dims}] and image [${x.dims}] differ in shape`);
  const out = nchw(n, c, H, W);
  out.data.set(x.data);
  const clipped: number[] = [];
  const kill = new Uint8Array(P);
  const score = new Float64Array(P);
  for (let b = 0; b < n; b++) {
    const off = b * c * P;
    kill.fill(0);
    if (np > 0) {
      score.fill(0);
      for (let ch = 0; ch < c; ch++) {
        const m = centerOf(center, ch);
        for (let p = 0; p < P; p++) {
          const d = x.data[off + ch * P + p]! - m;
          score[p] += d * d;
        }
      }
      const t = percentile(score, np);
      for (let p = 0; p < P; p++) if (score[p]! < t) kill[p] = 1;
    }
    if (cp > 0 && grad) {
      score.fill(0);
      for (let ch = 0; ch < c; ch++) {
        const m = centerOf(center, ch);
        for (let p = 0; p < P; p++) score[p] += (x.data[off + ch * P + p]! - m) * grad.data[off + ch * P + p]!;
      }
      for (let p = 0; p < P; p++) score[p] = Math.abs(score[p]!);
      const t = percentile(score, cp);
      for (let p = 0; p < P; p++) if (score[p]! < t) kill[p] = 1;
    }
    let count = 0;
    for (let p = 0; p < P; p++) {
      if (!kill[p]) continue;
      count++;
      for (let ch = 0; ch < c; ch++) out.data[off + ch * P + p] = centerOf(center, ch);
    }
    clipped.push(count);
  }
  return { image: out, clipped };
}

/** Yosinski's L2 decay: x <- centre + (1 - rate) (x - centre). */
export function l2Decay(x: Nchw, rate: number, center: Center = 0.5): Nchw {
  const [n, c, H, W] = x.dims;
  const P = H * W;
  const out = nchw(n, c, H, W);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const m = centerOf(center, ch);
      const o = (b * c + ch) * P;
      for (let p = 0; p < P; p++) out.data[o + p] = m + (1 - rate) * (x.data[o + p]! - m);
    }
  return out;
}

export interface PenaltyValue {
  /** The penalty summed over the batch (float64). */
  value: number;
  /** Its exact gradient with respect to the image. */
  grad: Nchw;
}

/** sum (x - centre)^2 over the batch; gradient 2 (x - centre). */
export function l2Penalty(x: Nchw, center: Center = 0.5): PenaltyValue {
  const [n, c, H, W] = x.dims;
  const P = H * W;
  const grad = nchw(n, c, H, W);
  let value = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const m = centerOf(center, ch);
      const o = (b * c + ch) * P;
      for (let p = 0; p < P; p++) {
        const d = x.data[o + p]! - m;
        value += d * d;
        grad.data[o + p] = 2 * d;
      }
    }
  return { value, grad };
}

export interface TvOptions {
  /**
   * 'squared' (default): sum of squared differences between horizontal and vertical neighbours (the
   * "variance between neighbouring pixels"); 'abs': sum of absolute differences (tf.image.total_variation,
   * as Lucid's total_variation objective), smoothed as sqrt(d^2 + eps) so it has a gradient at 0.
   */
  kind?: 'squared' | 'abs';
  /** Divide by the number of neighbour pairs (the mean/variance form). */
  mean?: boolean;
  /** Smoothing for 'abs' (default 1e-8). */
  eps?: number;
}

/** Total variation penalty over every image and channel, with its exact gradient. */
export function totalVariation(x: Nchw, o: TvOptions = {}): PenaltyValue {
  const [n, c, H, W] = x.dims;
  const abs = (o.kind ?? 'squared') === 'abs';
  const eps = o.eps ?? 1e-8;
  const P = H * W;
  const pairs = n * c * (H * (W - 1) + (H - 1) * W);
  const norm = o.mean ? 1 / Math.max(1, pairs) : 1;
  const g = new Float64Array(P);
  const grad = nchw(n, c, H, W);
  let value = 0;
  for (let pl = 0; pl < n * c; pl++) {
    const s = x.data.subarray(pl * P, (pl + 1) * P);
    g.fill(0);
    // Horizontal pairs (p, p + 1) within each row, then vertical pairs (p, p + W).
    for (const [step, count] of [
      [1, W - 1],
      [W, W],
    ] as const) {
      const rows = step === 1 ? H : H - 1;
      for (let y = 0; y < rows; y++) {
        const o = y * W;
        for (let p = o; p < o + count; p++) {
          const d = s[p + step]! - s[p]!;
          let dv: number;
          if (abs) {
            const a = Math.sqrt(d * d + eps);
            value += a;
            dv = d / a;
          } else {
            value += d * d;
            dv = 2 * d;
          }
          g[p + step] += dv;
          g[p] -= dv;
        }
      }
    }
    const dst = grad.data.subarray(pl * P, (pl + 1) * P);
    for (let p = 0; p < P; p++) dst[p] = g[p]! * norm;
  }
  return { value: value * norm, grad };
}
