// The image batch every pixel-space piece works on: float32, N x C x H x W, row-major.
// Structurally a TensorData, so it can be fed to a Session as it is.
import { FvizError } from '../errors.ts';

export interface Nchw {
  dtype: 'float32';
  dims: [number, number, number, number];
  data: Float32Array;
}

/** Spatial size, height first. */
export type Size2 = readonly [h: number, w: number];

export function nchw(n: number, c: number, h: number, w: number, data?: Float32Array): Nchw {
  const size = n * c * h * w;
  if (data && data.length !== size) throw new FvizError(`image data has ${data.length} values, N x C x H x W = ${n}x${c}x${h}x${w} needs ${size}`);
  return { dtype: 'float32', dims: [n, c, h, w], data: data ?? new Float32Array(size) };
}

/** Checks a TensorData-like value is a rank-4 float32 batch and returns it typed as Nchw. */
export function asNchw(t: { dtype: string; dims: readonly number[]; data: unknown }, what = 'image'): Nchw {
  if (t.dtype !== 'float32' || !(t.data instanceof Float32Array) || t.dims.length !== 4)
    throw new FvizError(`${what}: expected float32 N x C x H x W, got ${t.dtype} [${t.dims.join(', ')}]`);
  const [n, c, h, w] = t.dims as [number, number, number, number];
  return nchw(n, c, h, w, t.data);
}

export function cloneNchw(x: Nchw): Nchw {
  return { dtype: 'float32', dims: [...x.dims], data: x.data.slice() };
}

/** The batch member `i` as a 1-image batch sharing no memory with `x`. */
export function member(x: Nchw, i: number): Nchw {
  const [n, c, h, w] = x.dims;
  if (i < 0 || i >= n) throw new FvizError(`image index ${i} out of range 0..${n - 1}`);
  const size = c * h * w;
  return nchw(1, c, h, w, x.data.slice(i * size, (i + 1) * size));
}

/** Sum of x*y accumulated in float64 (for dot-product tests and penalties). */
export function dot(x: Float32Array | Float64Array, y: Float32Array | Float64Array): number {
  if (x.length !== y.length) throw new FvizError(`dot: lengths differ (${x.length} vs ${y.length})`);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}
