import type { GradContext, GradRule } from '../context.ts';
import type { Node } from '../../onnx/ir.ts';
import { getString } from '../../onnx/ir.ts';
import { FvizError } from '../../errors.ts';
import { tensor, toNumbers } from '../../onnx/tensor.ts';
import { range } from './spatial.ts';

const f = Math.fround;

/** onnxruntime's map from an output coordinate to an input coordinate, in float32 arithmetic. */
function originalCoordinate(mode: string, x: number, scale: number, outLen: number, inLen: number): number {
  switch (mode) {
    case 'half_pixel':
      return f(f(f(x + 0.5) / scale) - 0.5);
    case 'pytorch_half_pixel':
      return outLen > 1 ? f(f(f(x + 0.5) / scale) - 0.5) : 0;
    case 'align_corners':
      return outLen === 1 ? 0 : f(f(x * (inLen - 1)) / (outLen - 1));
    case 'asymmetric':
      return f(x / scale);
    case 'tf_half_pixel_for_nn':
      return f(f(x + 0.5) / scale);
    default:
      throw new FvizError(`Resize: coordinate_transformation_mode '${mode}' has no gradient rule`);
  }
}

function nearestPixel(mode: string, v: number): number {
  switch (mode) {
    case 'round_prefer_ceil':
      return Math.sign(v) * Math.round(Math.abs(v)); // std::round: halves away from zero
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    default: // round_prefer_floor
      return v === Math.trunc(v) + 0.5 ? Math.floor(v) : Math.sign(v) * Math.round(Math.abs(v));
  }
}

/** The [out, in] matrix of a 1-D resize along one axis, as onnxruntime computes it. */
export function resizeMatrix(node: Node, inLen: number, outLen: number, scale: number): Float64Array {
  const mode = getString(node, 'mode', 'nearest');
  const ctm = getString(node, 'coordinate_transformation_mode', 'half_pixel');
  const A = new Float64Array(outLen * inLen);
  for (let o = 0; o < outLen; o++) {
    const orig = originalCoordinate(ctm, o, scale, outLen, inLen);
    if (mode === 'nearest') {
      const i = Math.min(Math.max(nearestPixel(getString(node, 'nearest_mode', 'round_prefer_floor'), orig), 0), inLen - 1);
      A[o * inLen + i] = 1;
    } else {
      const v = Math.max(0, Math.min(orig, inLen - 1));
      const i1 = Math.min(Math.trunc(v), inLen - 1);
      const i2 = Math.min(i1 + 1, inLen - 1);
      // Weight of i1 is the distance to i2 and vice versa; a clamped pair (i1 == i2) gets 0.5 + 0.5.
      const d1 = i1 === i2 ? 0.5 : f(Math.abs(f(v - i1)));
      const d2 = i1 === i2 ? 0.5 : f(Math.abs(f(v - i2)));
      A[o * inLen + i1] += d2;
      A[o * inLen + i2] += d1;
    }
  }
  return A;
}

/** Scales as onnxruntime uses them: the given float32 scales, or sizes / input sizes in float32. */
function resizeScales(node: Node, ctx: GradContext, inShape: number[], outShape: number[]): number[] {
  const scalesIn = node.inputs[2];
  const sc = scalesIn ? ctx.constValue(scalesIn) : undefined;
  if (sc && sc.data.length > 0) return toNumbers(sc).map(f);
  const sizesIn = node.inputs[3];
  if (!sizesIn || !ctx.constValue(sizesIn))
    throw new FvizError(`Resize node '${node.name}': scales or sizes must be constant to differentiate`);
  return outShape.map((o, i) => f(f(o) / f(inShape[i]!)));
}

/**
 * Nearest and linear resizing are separable linear maps, y = (A_0 x ... x A_r) x with A_i [out_i, in_i]
 * built at compile time from the static shapes; the gradient applies A_i^T along each resized axis as a
 * MatMul with a constant.
 */
export const Resize: GradRule = (node, ctx) => {
  const y = node.outputs[0]!;
  const g = ctx.grad(y);
  if (!g) return;
  const x = node.inputs[0]!;
  const mode = getString(node, 'mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear')
    throw new FvizError(`Resize node '${node.name}': mode '${mode}' has no gradient rule (nearest and linear do)`);
  if (node.inputs[2] && ctx.needs(node.inputs[2])) throw new FvizError(`Resize node '${node.name}': scales cannot be differentiated`);
  const xs = ctx.shape(x);
  const ys = ctx.shape(y);
  const scales = resizeScales(node, ctx, xs, ys);
  const r = xs.length;
  let d = g;
  for (let a = 0; a < r; a++) {
    if (scales[a] === 1 && xs[a] === ys[a]) continue; // onnxruntime copies axes with scale 1
    const A = tensor(ctx.dtype(x), [ys[a]!, xs[a]!], resizeMatrix(node, xs[a]!, ys[a]!, scales[a]!));
    if (a === r - 1) d = ctx.emit('MatMul', [d, ctx.constant(A, 'resize_adjoint')]);
    else if (a === r - 2) {
      const At = tensor(A.dtype, [xs[a]!, ys[a]!], transpose(A.data as Float32Array, ys[a]!, xs[a]!));
      d = ctx.emit('MatMul', [ctx.constant(At, 'resize_adjoint'), d]);
    } else {
      const perm = [...range(r).filter((i) => i !== a), a];
      const inverse = range(r).map((i) => perm.indexOf(i));
      const moved = ctx.emit('Transpose', [d], { perm: { ints: perm } });
      const mm = ctx.emit('MatMul', [moved, ctx.constant(A, 'resize_adjoint')]);
      d = ctx.emit('Transpose', [mm], { perm: { ints: inverse } });
    }
  }
  ctx.addGrad(x, d);
};

function transpose(a: ArrayLike<number>, rows: number, cols: number): number[] {
  const out = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}
