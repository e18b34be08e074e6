// Lucid's colour decorrelation (optvis/param/color.py): the image is optimized in a space whose three
// channels are decorrelated for ImageNet; multiplying by the square root of the empirical colour
// correlation (normalized by its largest column norm) gives RGB. A sigmoid then maps to [0, 1].
import { FvizError } from '../../errors.ts';
import type { GraphBuilder } from '../../onnx/builder.ts';
import type { DType, TensorData } from '../../onnx/ir.ts';
import { vecI64 } from '../../onnx/tensor.ts';
import type { Nchw } from '../../image/nchw.ts';
import { nchw } from '../../image/nchw.ts';

/** Square root of ImageNet's colour correlation matrix (Lucid's color_correlation_svd_sqrt), row-major. */
export const COLOR_CORRELATION_SVD_SQRT: readonly (readonly number[])[] = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

function normalizedCorrelation(): number[] {
  const m = COLOR_CORRELATION_SVD_SQRT;
  let maxNorm = 0;
  for (let j = 0; j < 3; j++) maxNorm = Math.max(maxNorm, Math.hypot(m[0]![j]!, m[1]![j]!, m[2]![j]!));
  return m.flat().map((v) => v / maxNorm);
}

/** rgb = M v per pixel, M row-major 3x3 (Lucid's color_correlation_normalized). */
export const COLOR_DECORRELATION: readonly number[] = normalizedCorrelation();

function invert3(m: readonly number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d].map((v) => v / det);
}

export const COLOR_DECORRELATION_INVERSE: readonly number[] = invert3(COLOR_DECORRELATION);

/** y = M x over the channels of every pixel; M is row-major c x c. */
export function mixChannels(x: Nchw, m: readonly number[]): Nchw {
  const [n, c, H, W] = x.dims;
  if (m.length !== c * c) throw new FvizError(`colour matrix of ${m.length} entries does not fit ${c} channels`);
  const P = H * W;
  const out = nchw(n, c, H, W);
  for (let b = 0; b < n; b++) {
    const o = b * c * P;
    for (let i = 0; i < c; i++) {
      const d = out.data.subarray(o + i * P, o + (i + 1) * P);
      for (let j = 0; j < c; j++) {
        const w = m[i * c + j]!;
        if (w === 0) continue;
        const s = x.data.subarray(o + j * P, o + (j + 1) * P);
        for (let p = 0; p < P; p++) d[p] += w * s[p]!;
      }
    }
  }
  return out;
}

export function transpose3(m: readonly number[]): number[] {
  return [m[0]!, m[3]!, m[6]!, m[1]!, m[4]!, m[7]!, m[2]!, m[5]!, m[8]!];
}

export const decorrelatedToRgb = (v: Nchw): Nchw => mixChannels(v, COLOR_DECORRELATION);
export const decorrelatedToRgbAdjoint = (g: Nchw): Nchw => mixChannels(g, transpose3(COLOR_DECORRELATION));
export const rgbToDecorrelated = (rgb: Nchw): Nchw => mixChannels(rgb, COLOR_DECORRELATION_INVERSE);

export function sigmoid(x: Nchw): Nchw {
  const [n, c, H, W] = x.dims;
  const out = nchw(n, c, H, W);
  for (let i = 0; i < x.data.length; i++) out.data[i] = 1 / (1 + Math.exp(-x.data[i]!));
  return out;
}

/** Gradient through y = sigmoid(z), from y itself: gz = gy y (1 - y). */
export function sigmoidBackward(y: Nchw, gy: Nchw): Nchw {
  const [n, c, H, W] = y.dims;
  const out = nchw(n, c, H, W);
  for (let i = 0; i < y.data.length; i++) {
    const s = y.data[i]!;
    out.data[i] = gy.data[i]! * s * (1 - s);
  }
  return out;
}

/** Inverse sigmoid, clamped away from 0 and 1: to start a sigmoid parameterization from an image. */
export function logit(y: Nchw, eps = 1e-4): Nchw {
  const [n, c, H, W] = y.dims;
  const out = nchw(n, c, H, W);
  for (let i = 0; i < y.data.length; i++) {
    const v = Math.min(1 - eps, Math.max(eps, y.data[i]!));
    out.data[i] = Math.log(v / (1 - v));
  }
  return out;
}

export interface ValidRgbOptions {
  /** Multiply by Lucid's colour matrix first (default true; needs 3 channels). */
  decorrelate?: boolean;
  /** Map to [0, 1] with a sigmoid (default true). */
  sigmoid?: boolean;
}

/** Lucid's to_valid_rgb: decorrelated space -> RGB -> sigmoid. */
export function toValidRgb(t: Nchw, o: ValidRgbOptions = {}): Nchw {
  let x = (o.decorrelate ?? true) ? decorrelatedToRgb(t) : t;
  if (o.sigmoid ?? true) x = sigmoid(x);
  return x;
}

/** The gradient with respect to t of <gRgb, toValidRgb(t)>, given rgb = toValidRgb(t). */
export function toValidRgbBackward(rgb: Nchw, gRgb: Nchw, o: ValidRgbOptions = {}): Nchw {
  let g = (o.sigmoid ?? true) ? sigmoidBackward(rgb, gRgb) : gRgb;
  if (o.decorrelate ?? true) g = decorrelatedToRgbAdjoint(g);
  return g;
}

// ---- ONNX emission ----------------------------------------------------------------------------------

function constantOf(dtype: DType, dims: number[], values: readonly number[]): TensorData {
  const data = dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  return { dtype, dims, data };
}

/** Emits y = M x over channels of an [N, C, H, W] value (Reshape, MatMul, Reshape); returns y's name. */
export function emitMixChannels(b: GraphBuilder, x: string, dims: readonly [number, number, number, number], m: readonly number[], dtype: DType = 'float32'): string {
  const [n, c, H, W] = dims;
  const flat = b.op('Reshape', [x, b.constant(vecI64([n, c, H * W]), 'shape')], {}, 'color_flat');
  b.setType(flat, { dtype, shape: [n, c, H * W] });
  const mixed = b.op('MatMul', [b.constant(constantOf(dtype, [c, c], m), 'color_matrix'), flat], {}, 'color_mix');
  b.setType(mixed, { dtype, shape: [n, c, H * W] });
  const y = b.op('Reshape', [mixed, b.constant(vecI64([n, c, H, W]), 'shape')], {}, 'color_image');
  b.setType(y, { dtype, shape: [n, c, H, W] });
  return y;
}

/** Emits toValidRgb as ONNX nodes (MatMul, Reshape, Sigmoid); returns the RGB value's name. */
export function emitToValidRgb(b: GraphBuilder, t: string, dims: readonly [number, number, number, number], o: ValidRgbOptions = {}, dtype: DType = 'float32'): string {
  let x = t;
  if (o.decorrelate ?? true) {
    if (dims[1] !== 3) throw new FvizError(`colour decorrelation needs 3 channels, got ${dims[1]}`);
    x = emitMixChannels(b, x, dims, COLOR_DECORRELATION, dtype);
  }
  if (o.sigmoid ?? true) {
    x = b.op('Sigmoid', [x], {}, 'rgb');
    b.setType(x, { dtype, shape: [...dims] });
  }
  return x;
}
