import type { GradRule } from '../context.ts';
import { getInt, getInts, sizeOf } from '../../onnx/ir.ts';
import { FvizError } from '../../errors.ts';
import { tensor } from '../../onnx/tensor.ts';
import { convTransposeToShape } from './convAdjoint.ts';
import { windowOf } from './spatial.ts';

/**
 * Per output position along one axis, the divisor onnxruntime averages by: the window clipped to the
 * padded input (count_include_pad=1) or to the input itself (count_include_pad=0).
 */
function divisors(out: number, n: number, k: number, s: number, pb: number, pe: number, includePad: boolean): number[] {
  return Array.from({ length: out }, (_, o) => {
    const start = o * s - pb;
    const end = Math.min(start + k, n + pe);
    return includePad ? end - start : Math.min(end, n) - Math.max(start, 0);
  });
}

/**
 * dX = the adjoint of the window sum (a single-channel ConvTranspose with a kernel of ones over batch x
 * channel images) applied to dY divided by each window's divisor.
 */
export const AveragePool: GradRule = (node, ctx) => {
  const y = node.outputs[0]!;
  const g = ctx.grad(y);
  if (!g) return;
  const x = node.inputs[0]!;
  const xs = ctx.shape(x);
  const [N, C] = xs as [number, number];
  const inSp = xs.slice(2);
  const outSp = ctx.shape(y).slice(2);
  const kernel = getInts(node, 'kernel_shape', []);
  if ((getInts(node, 'dilations') ?? []).some((d) => d !== 1))
    throw new FvizError(`AveragePool node '${node.name}': dilations are not supported by the gradient compiler`);
  const win = windowOf(node, inSp, kernel);
  const includePad = getInt(node, 'count_include_pad', 0) !== 0;
  const perAxis = outSp.map((o, i) => divisors(o, inSp[i]!, kernel[i]!, win.strides[i]!, win.padsBegin[i]!, win.padsEnd[i]!, includePad));
  // Reciprocal divisors over the output grid: the outer product of the per-axis vectors.
  let recip = [1];
  for (const d of perAxis) recip = recip.flatMap((r) => d.map((v) => r / v));
  const uniform = recip.every((r) => r === recip[0]);
  const dtype = ctx.dtype(x);
  const images = ctx.reshapeTo(g, [N * C, 1, ...outSp]);
  const scaled = uniform ? images : ctx.emit('Mul', [images, ctx.constant(tensor(dtype, [1, 1, ...outSp], recip), 'avgpool_recip')]);
  const ones = ctx.constant(tensor(dtype, [1, 1, ...kernel], new Array<number>(sizeOf(kernel)).fill(uniform ? recip[0]! : 1)), 'avgpool_kernel');
  const dx = convTransposeToShape(ctx, scaled, ones, win, 1, inSp);
  ctx.addGrad(x, ctx.reshapeTo(dx, xs));
};
