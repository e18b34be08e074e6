// Transformation robustness (Lucid's optvis/transform.py): padding, jitter, scale and rotation, each
// with the exact adjoint of the linear map it applies, so a gradient chained through `adjoint` is exactly
// the gradient of the objective of the transformed image. Every geometric transform is one affine
// bilinear resampler: output pixel -> source coordinates -> 4 weighted taps; the adjoint scatters the
// same weights. A constant border value is an affine offset (y = A x + b); `adjoint` is A's transpose.
import { FvizError } from '../../errors.ts';
import type { Rng } from '../../util/rng.ts';
import type { Nchw, Size2 } from '../../image/nchw.ts';
import { nchw } from '../../image/nchw.ts';

export interface Transform {
  readonly inSize: Size2;
  readonly outSize: Size2;
  /** The sampled parameters, for logs and run.json. */
  readonly params: Readonly<Record<string, number | readonly number[] | string>>;
  /** y = A x + b over every image and channel of the batch. */
  apply(x: Nchw): Nchw;
  /** A^T gy: the gradient with respect to x of <gy, apply(x)>. */
  adjoint(gy: Nchw): Nchw;
}

/**
 * What a sample outside the source image reads: a constant (Lucid pads with 0.5), the mirrored image
 * (TF REFLECT: the edge pixel is not repeated), the nearest edge pixel, or the image wrapped around
 * (np.roll, DeepDream's jitter).
 */
export type Border = { mode: 'constant'; value: number } | { mode: 'reflect' } | { mode: 'edge' } | { mode: 'wrap' };

export const GRAY_BORDER: Border = { mode: 'constant', value: 0.5 };

/** Maps an output pixel (y, x) to source coordinates: sy = yy*y + yx*x + ty, sx = xy*y + xx*x + tx. Pixel centres sit on integers. */
export interface Affine {
  yy: number;
  yx: number;
  ty: number;
  xy: number;
  xx: number;
  tx: number;
}

export const IDENTITY: Affine = { yy: 1, yx: 0, ty: 0, xy: 0, xx: 1, tx: 0 };

/** outer(inner(p)): `inner` maps the final output to an intermediate canvas, `outer` that canvas to the source. */
export function composeAffine(outer: Affine, inner: Affine): Affine {
  return {
    yy: outer.yy * inner.yy + outer.yx * inner.xy,
    yx: outer.yy * inner.yx + outer.yx * inner.xx,
    ty: outer.yy * inner.ty + outer.yx * inner.tx + outer.ty,
    xy: outer.xy * inner.yy + outer.xx * inner.xy,
    xx: outer.xy * inner.yx + outer.xx * inner.xx,
    tx: outer.xy * inner.ty + outer.xx * inner.tx + outer.tx,
  };
}

export const translation = (dy: number, dx: number): Affine => ({ ...IDENTITY, ty: dy, tx: dx });

/** Resize semantics with half-pixel centres: the canvas `from` stretched onto `to`. */
export function resizeMap(from: Size2, to: Size2): Affine {
  const ry = from[0] / to[0];
  const rx = from[1] / to[1];
  return { yy: ry, yx: 0, ty: 0.5 * ry - 0.5, xy: 0, xx: rx, tx: 0.5 * rx - 0.5 };
}

/** Rotation of the content by `degrees` counterclockwise on screen, about the centre of a canvas of `size`. */
export function rotationMap(size: Size2, degrees: number): Affine {
  const t = (degrees * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  const cy = (size[0] - 1) / 2;
  const cx = (size[1] - 1) / 2;
  // sx = cx + c (x - cx) - s (y - cy);  sy = cy + s (x - cx) + c (y - cy)
  return { yy: c, yx: s, ty: cy - c * cy - s * cx, xy: -s, xx: c, tx: cx - c * cx + s * cy };
}

function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

function isIntegerShift(m: Affine): boolean {
  return m.yy === 1 && m.yx === 0 && m.xy === 0 && m.xx === 1 && Number.isInteger(m.ty) && Number.isInteger(m.tx);
}

function checkSize(s: Size2, what: string): void {
  if (!(Number.isInteger(s[0]) && Number.isInteger(s[1]) && s[0] > 0 && s[1] > 0))
    throw new FvizError(`${what}: size must be positive integers, got ${s[0]}x${s[1]}`);
}

/**
 * The one resampler behind every transform here. Output pixels whose taps all fall inside the source
 * (almost all of them) store a base index and the fractional offsets; the rest (borders) store an
 * explicit list of (output, source, weight) taps plus a constant offset.
 */
export class AffineResample implements Transform {
  readonly inSize: Size2;
  readonly outSize: Size2;
  readonly params: Readonly<Record<string, number | readonly number[] | string>>;
  readonly map: Affine;
  readonly border: Border;
  /** True when every output pixel copies one source pixel (integer shifts). */
  private readonly shift: boolean;
  /** Per output pixel: source index of the top-left tap, or -1 when it is a border pixel. */
  private readonly base: Int32Array;
  private readonly fy: Float32Array;
  private readonly fx: Float32Array;
  private readonly edgeOut: Int32Array;
  private readonly edgeSrc: Int32Array;
  private readonly edgeW: Float64Array;
  /** Constant-border contribution per output pixel (null when there is none). */
  private readonly offset: Float32Array | null;

  constructor(inSize: Size2, outSize: Size2, map: Affine, border: Border = GRAY_BORDER, params: Record<string, number | readonly number[] | string> = {}) {
    checkSize(inSize, 'transform input');
    checkSize(outSize, 'transform output');
    this.inSize = inSize;
    this.outSize = outSize;
    this.map = map;
    this.border = border;
    this.params = params;
    const [H, W] = inSize;
    const [Ho, Wo] = outSize;
    const shift = isIntegerShift(map);
    this.shift = shift;
    const P = Ho * Wo;
    const base = new Int32Array(P);
    const fyA = new Float32Array(shift ? 0 : P);
    const fxA = new Float32Array(shift ? 0 : P);
    const constant = border.mode === 'constant' ? border.value : 0;
    const reflect = border.mode === 'reflect';
    const wrap = border.mode === 'wrap';
    const edge = border.mode === 'edge';
    let offset: Float32Array | null = null;
    const eOut: number[] = [];
    const eSrc: number[] = [];
    const eW: number[] = [];
    const tap = (p: number, yy: number, xx: number, w: number) => {
      if (w === 0) return;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) {
        if (wrap) {
          yy = ((yy % H) + H) % H;
          xx = ((xx % W) + W) % W;
        } else if (edge) {
          yy = Math.min(H - 1, Math.max(0, yy));
          xx = Math.min(W - 1, Math.max(0, xx));
        } else if (!reflect) {
          if (constant !== 0) {
            offset ??= new Float32Array(P);
            offset[p] = offset[p]! + constant * w;
          }
          return;
        } else {
          yy = reflectIndex(yy, H);
          xx = reflectIndex(xx, W);
        }
      }
      eOut.push(p);
      eSrc.push(yy * W + xx);
      eW.push(w);
    };
    const { yy: myy, yx: myx, ty: mty, xy: mxy, xx: mxx, tx: mtx } = map;
    for (let oy = 0, p = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++, p++) {
        const sy = myy * oy + myx * ox + mty;
        const sx = mxy * oy + mxx * ox + mtx;
        if (shift) {
          if (sy >= 0 && sy < H && sx >= 0 && sx < W) base[p] = sy * W + sx;
          else {
            base[p] = -1;
            tap(p, sy, sx, 1);
          }
          continue;
        }
        const y0 = Math.floor(sy);
        const x0 = Math.floor(sx);
        const fy = sy - y0;
        const fx = sx - x0;
        if (y0 >= 0 && y0 + 1 < H && x0 >= 0 && x0 + 1 < W) {
          base[p] = y0 * W + x0;
          fyA[p] = fy;
          fxA[p] = fx;
        } else {
          base[p] = -1;
          tap(p, y0, x0, (1 - fy) * (1 - fx));
          tap(p, y0, x0 + 1, (1 - fy) * fx);
          tap(p, y0 + 1, x0, fy * (1 - fx));
          tap(p, y0 + 1, x0 + 1, fy * fx);
        }
      }
    }
    this.base = base;
    this.fy = fyA;
    this.fx = fxA;
    this.edgeOut = Int32Array.from(eOut);
    this.edgeSrc = Int32Array.from(eSrc);
    this.edgeW = Float64Array.from(eW);
    this.offset = offset;
  }

  private planes(x: Nchw, size: Size2, what: string): number {
    const [n, c, h, w] = x.dims;
    if (h !== size[0] || w !== size[1]) throw new FvizError(`${what}: expected images of ${size[0]}x${size[1]}, got ${h}x${w}`);
    return n * c;
  }

  apply(x: Nchw): Nchw {
    const planes = this.planes(x, this.inSize, 'transform apply');
    const [Ho, Wo] = this.outSize;
    const W = this.inSize[1];
    const inPlane = this.inSize[0] * W;
    const P = Ho * Wo;
    const out = nchw(x.dims[0], x.dims[1], Ho, Wo);
    const src = x.data;
    const dst = out.data;
    const { base, fy, fx, edgeOut, edgeSrc, edgeW, offset } = this;
    const E = edgeOut.length;
    for (let pl = 0; pl < planes; pl++) {
      const s = src.subarray(pl * inPlane, (pl + 1) * inPlane);
      const d = dst.subarray(pl * P, (pl + 1) * P);
      if (this.shift) {
        for (let p = 0; p < P; p++) {
          const b = base[p]!;
          d[p] = b >= 0 ? s[b]! : 0;
        }
      } else {
        for (let p = 0; p < P; p++) {
          const b = base[p]!;
          if (b < 0) {
            d[p] = 0;
            continue;
          }
          const wy = fy[p]!;
          const wx = fx[p]!;
          const top = s[b]! + wx * (s[b + 1]! - s[b]!);
          const bot = s[b + W]! + wx * (s[b + W + 1]! - s[b + W]!);
          d[p] = top + wy * (bot - top);
        }
      }
      for (let e = 0; e < E; e++) d[edgeOut[e]!] += edgeW[e]! * s[edgeSrc[e]!]!;
      if (offset) for (let p = 0; p < P; p++) d[p] += offset[p]!;
    }
    return out;
  }

  adjoint(gy: Nchw): Nchw {
    const planes = this.planes(gy, this.outSize, 'transform adjoint');
    const [H, W] = this.inSize;
    const inPlane = H * W;
    const P = this.outSize[0] * this.outSize[1];
    const out = nchw(gy.dims[0], gy.dims[1], H, W);
    const { base, fy, fx, edgeOut, edgeSrc, edgeW } = this;
    const E = edgeOut.length;
    // Scatter into float64 so that sums of many taps keep their precision.
    const acc = new Float64Array(inPlane);
    for (let pl = 0; pl < planes; pl++) {
      const g = gy.data.subarray(pl * P, (pl + 1) * P);
      acc.fill(0);
      if (this.shift) {
        for (let p = 0; p < P; p++) {
          const b = base[p]!;
          if (b >= 0) acc[b] += g[p]!;
        }
      } else {
        for (let p = 0; p < P; p++) {
          const b = base[p]!;
          if (b < 0) continue;
          const v = g[p]!;
          const wy = fy[p]!;
          const wx = fx[p]!;
          const top = v - wy * v;
          const bot = wy * v;
          acc[b] += top - wx * top;
          acc[b + 1] += wx * top;
          acc[b + W] += bot - wx * bot;
          acc[b + W + 1] += wx * bot;
        }
      }
      for (let e = 0; e < E; e++) acc[edgeSrc[e]!] += edgeW[e]! * g[edgeOut[e]!]!;
      out.data.set(acc, pl * inPlane);
    }
    return out;
  }
}

/** Transforms applied in order; the adjoint runs them backwards. */
export class Chain implements Transform {
  readonly inSize: Size2;
  readonly outSize: Size2;
  readonly params: Readonly<Record<string, number | readonly number[] | string>>;
  readonly steps: readonly Transform[];

  constructor(steps: Transform[], params?: Record<string, number | readonly number[] | string>) {
    if (steps.length === 0) throw new FvizError('a transform chain needs at least one transform');
    for (let i = 1; i < steps.length; i++) {
      const a = steps[i - 1]!.outSize;
      const b = steps[i]!.inSize;
      if (a[0] !== b[0] || a[1] !== b[1]) throw new FvizError(`transform chain: step ${i} expects ${b[0]}x${b[1]}, previous gives ${a[0]}x${a[1]}`);
    }
    this.steps = steps;
    this.inSize = steps[0]!.inSize;
    this.outSize = steps[steps.length - 1]!.outSize;
    const merged: Record<string, number | readonly number[] | string> = {};
    steps.forEach((s, i) => {
      for (const [k, v] of Object.entries(s.params)) merged[`${i}.${k}`] = v;
    });
    this.params = params ?? merged;
  }

  apply(x: Nchw): Nchw {
    let y = x;
    for (const s of this.steps) y = s.apply(y);
    return y;
  }

  adjoint(gy: Nchw): Nchw {
    let g = gy;
    for (let i = this.steps.length - 1; i >= 0; i--) g = this.steps[i]!.adjoint(g);
    return g;
  }
}

// ---- the individual transforms -------------------------------------------------------------------

/** Pads `width` pixels on every side (Lucid: constant 0.5). */
export function pad(inSize: Size2, width: number, border: Border = GRAY_BORDER): AffineResample {
  if (!Number.isInteger(width) || width < 0) throw new FvizError(`pad: width must be a non-negative integer, got ${width}`);
  const out: Size2 = [inSize[0] + 2 * width, inSize[1] + 2 * width];
  return new AffineResample(inSize, out, translation(-width, -width), border, { pad: width, border: border.mode });
}

/** Crops a window of (H - dy, W - dx) at offset (oy, ox), 0 <= oy <= dy. */
export function crop(inSize: Size2, outSize: Size2, oy: number, ox: number, border: Border = GRAY_BORDER): AffineResample {
  return new AffineResample(inSize, outSize, translation(oy, ox), border, { crop: [oy, ox] });
}

/** Lucid's jitter: a random crop that is `d` pixels smaller in each dimension (offsets uniform in 0..d). */
export function jitter(rng: Rng, inSize: Size2, d: number): AffineResample {
  if (!Number.isInteger(d) || d < 0) throw new FvizError(`jitter: must be a non-negative integer number of pixels, got ${d}`);
  if (d >= inSize[0] || d >= inSize[1]) throw new FvizError(`jitter ${d} px does not fit a ${inSize[0]}x${inSize[1]} image`);
  const oy = rng.int(d + 1);
  const ox = rng.int(d + 1);
  return new AffineResample(inSize, [inSize[0] - d, inSize[1] - d], translation(oy, ox), GRAY_BORDER, { jitter: d, offset: [oy, ox] });
}

/** Circular shift by (dy, dx) pixels: content moves down/right, what leaves one edge enters the other (np.roll). */
export function roll(inSize: Size2, dy: number, dx: number): AffineResample {
  if (!Number.isInteger(dy) || !Number.isInteger(dx)) throw new FvizError(`roll: shifts must be integers, got ${dy}, ${dx}`);
  return new AffineResample(inSize, inSize, translation(-dy, -dx), { mode: 'wrap' }, { roll: [dy, dx] });
}

/** DeepDream's jitter: a circular shift by a uniform integer in -max..max along each axis. */
export function randomRoll(rng: Rng, inSize: Size2, max: number): AffineResample {
  if (!Number.isInteger(max) || max < 0) throw new FvizError(`roll jitter must be a non-negative integer, got ${max}`);
  const dy = rng.int(2 * max + 1) - max;
  const dx = rng.int(2 * max + 1) - max;
  return roll(inSize, dy, dx);
}

/** Bilinear resize to `outSize` (half-pixel centres, no antialiasing), e.g. between DeepDream octaves. */
export function resize(inSize: Size2, outSize: Size2, border: Border = { mode: 'edge' }): AffineResample {
  return new AffineResample(inSize, outSize, resizeMap(inSize, outSize), border, { resize: [outSize[0], outSize[1]] });
}

/** A list of values to pick from uniformly, or a continuous range. */
export type Choice = readonly number[] | { readonly min: number; readonly max: number };

export function pick(rng: Rng, c: Choice): number {
  if ('min' in c) return c.min === c.max ? c.min : rng.uniform(c.min, c.max);
  if (c.length === 0) throw new FvizError('an empty list of choices');
  return c[rng.int(c.length)]!;
}

/** Lucid's scales: 0.90, 0.92, ..., 1.10. */
export const LUCID_SCALES: readonly number[] = Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50);
/** Lucid's angles: -10..10 degrees plus five extra zeros. */
export const LUCID_ANGLES: readonly number[] = [...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0];

/** Canvas size after scaling by s (Lucid: int(s * size)). */
export function scaledSize(size: Size2, s: number): Size2 {
  const out: Size2 = [Math.floor(s * size[0] + 1e-9), Math.floor(s * size[1] + 1e-9)];
  if (out[0] < 1 || out[1] < 1) throw new FvizError(`scale ${s} shrinks a ${size[0]}x${size[1]} image to nothing`);
  return out;
}

/** Bilinear resize by a factor `s` (output int(s*H) x int(s*W)). */
export function scale(inSize: Size2, s: number, border: Border = GRAY_BORDER): AffineResample {
  if (!(s > 0)) throw new FvizError(`scale: factor must be positive, got ${s}`);
  const out = scaledSize(inSize, s);
  return new AffineResample(inSize, out, resizeMap(inSize, out), border, { scale: s });
}

export function randomScale(rng: Rng, inSize: Size2, scales: Choice = LUCID_SCALES, border: Border = GRAY_BORDER): AffineResample {
  return scale(inSize, pick(rng, scales), border);
}

/** Bilinear rotation about the image centre, same size; corners read the border. */
export function rotate(inSize: Size2, degrees: number, border: Border = GRAY_BORDER): AffineResample {
  return new AffineResample(inSize, inSize, rotationMap(inSize, degrees), border, { rotate: degrees });
}

export function randomRotate(rng: Rng, inSize: Size2, degrees: Choice = LUCID_ANGLES, border: Border = GRAY_BORDER): AffineResample {
  return rotate(inSize, pick(rng, degrees), border);
}

/** How the transformed canvas becomes the classifier's input: centre crop (or pad) like Lucid's crop_or_pad_to, or a resize. */
export type Fit = 'crop' | 'resize';

export function fitMap(from: Size2, to: Size2, fit: Fit): Affine {
  if (fit === 'resize') return resizeMap(from, to);
  return translation(Math.floor((from[0] - to[0]) / 2), Math.floor((from[1] - to[1]) / 2));
}

export function fitTo(inSize: Size2, outSize: Size2, fit: Fit = 'crop', border: Border = GRAY_BORDER): AffineResample {
  return new AffineResample(inSize, outSize, fitMap(inSize, outSize, fit), border, { fit });
}

// ---- Lucid's standard_transforms as one resampler --------------------------------------------------

export interface RobustOptions {
  /** Padding on each side (Lucid 12). */
  pad?: number;
  /** Border for everything outside the source image (Lucid: constant 0.5). */
  border?: Border;
  /** First jitter in px (Lucid 8). */
  jitter?: number;
  /** Scale factors (Lucid 0.90..1.10 in steps of 0.02). */
  scales?: Choice;
  /** Rotation in degrees (Lucid -10..10 plus extra zeros). */
  rotate?: Choice;
  /** Second jitter in px (Lucid 4). */
  jitter2?: number;
  /** Classifier input size (default: the input size). */
  outSize?: Size2;
  fit?: Fit;
}

interface Stage {
  out: Size2;
  /** Maps this stage's output canvas to its input canvas. */
  map: Affine;
}

/** The sampled stages of the robust pipeline (shared by the fused and the chained form). */
function robustStages(rng: Rng, inSize: Size2, o: RobustOptions): { stages: Stage[]; params: Record<string, number | readonly number[] | string> } {
  const padW = o.pad ?? 12;
  const j1 = o.jitter ?? 8;
  const j2 = o.jitter2 ?? 4;
  const scales = o.scales ?? LUCID_SCALES;
  const angles = o.rotate ?? LUCID_ANGLES;
  const fit = o.fit ?? 'crop';
  for (const [k, v] of [['pad', padW], ['jitter', j1], ['jitter2', j2]] as const)
    if (!Number.isInteger(v) || v < 0) throw new FvizError(`robust transforms: ${k} must be a non-negative integer, got ${v}`);
  const stages: Stage[] = [];
  let size: Size2 = inSize;
  const params: Record<string, number | readonly number[] | string> = {};
  const push = (out: Size2, map: Affine) => {
    stages.push({ out, map });
    size = out;
  };
  if (padW > 0) push([size[0] + 2 * padW, size[1] + 2 * padW], translation(-padW, -padW));
  const doJitter = (d: number, key: string) => {
    if (d === 0) return;
    if (d >= size[0] || d >= size[1]) throw new FvizError(`robust transforms: ${key} ${d} px does not fit a ${size[0]}x${size[1]} canvas`);
    const oy = rng.int(d + 1);
    const ox = rng.int(d + 1);
    params[key] = [oy, ox];
    push([size[0] - d, size[1] - d], translation(oy, ox));
  };
  doJitter(j1, 'jitter');
  const s = pick(rng, scales);
  params.scale = s;
  if (s !== 1) {
    const out = scaledSize(size, s);
    push(out, resizeMap(size, out));
  }
  const a = pick(rng, angles);
  params.rotate = a;
  if (a !== 0) push(size, rotationMap(size, a));
  doJitter(j2, 'jitter2');
  const outSize = o.outSize ?? inSize;
  params.fit = fit;
  push(outSize, fitMap(size, outSize, fit));
  return { stages, params };
}

/**
 * Lucid's standard_transforms (pad 12, jitter 8, scale 0.9-1.1, rotate -10..10, jitter 4) followed by a
 * centre crop (or resize) to the classifier's input size, sampled once from `rng` and fused into one
 * bilinear resample of the source image. Call once per step; `apply` the result to the image and
 * `adjoint` to the gradient the network returns.
 */
export function robustPipeline(rng: Rng, inSize: Size2, opts: RobustOptions = {}): AffineResample {
  checkSize(inSize, 'robust transforms input');
  const { stages, params } = robustStages(rng, inSize, opts);
  let map = IDENTITY;
  for (const st of stages) map = composeAffine(map, st.map);
  const outSize = stages[stages.length - 1]!.out;
  return new AffineResample(inSize, outSize, map, opts.border ?? GRAY_BORDER, params);
}

/** The same sampled transforms as robustPipeline (same rng draws) applied one after another: slower, for comparison. */
export function robustChain(rng: Rng, inSize: Size2, opts: RobustOptions = {}): Chain {
  const { stages, params } = robustStages(rng, inSize, opts);
  let size = inSize;
  const steps: Transform[] = [];
  for (const st of stages) {
    steps.push(new AffineResample(size, st.out, st.map, opts.border ?? GRAY_BORDER));
    size = st.out;
  }
  return new Chain(steps, params);
}
