import type { GradContext, GradRule } from '../context.ts';
import { getFloat, getInt, sizeOf } from '../../onnx/ir.ts';

/**
 * Sum over a window of channels [c - before, c + after] (zeros outside), as an AveragePool over the
 * channel axis of [N, 1, C, positions] times the window size.
 */
function channelWindowMean(ctx: GradContext, v: string, size: number, before: number, after: number): string {
  const s = ctx.shape(v);
  const img = ctx.reshapeTo(v, [s[0]!, 1, s[1]!, sizeOf(s.slice(2))]);
  const m = ctx.emit('AveragePool', [img], {
    kernel_shape: { ints: [size, 1] },
    pads: { ints: [before, 0, after, 0] },
    count_include_pad: { i: 1 },
  });
  return ctx.reshapeTo(m, s);
}

/**
 * y = x / d^beta, d_c = bias + alpha/size * sum_{c' in [c - lo, c + hi]} x_c'^2, lo = floor((size-1)/2),
 * hi = ceil((size-1)/2). Then
 *   dx_j = g_j d_j^-beta - 2 alpha beta / size * x_j * sum_{c : j in window(c)} g_c x_c d_c^(-beta-1),
 * and j lies in window(c) exactly when c is in [j - hi, j + lo]: the mirrored window.
 */
export const LRN: GradRule = (node, ctx) => {
  const y = node.outputs[0]!;
  const g = ctx.grad(y);
  if (!g) return;
  const x = node.inputs[0]!;
  const size = getInt(node, 'size', 1);
  const alpha = getFloat(node, 'alpha', 1e-4);
  const beta = getFloat(node, 'beta', 0.75);
  const bias = getFloat(node, 'bias', 1);
  const lo = Math.floor((size - 1) / 2);
  const hi = Math.ceil((size - 1) / 2);
  const sq = ctx.emit('Mul', [x, x]);
  // d = bias + alpha * mean over the window (AveragePool divides by size).
  const d = ctx.emit('Add', [ctx.emit('Mul', [channelWindowMean(ctx, sq, size, lo, hi), ctx.scalar(alpha, x)]), ctx.scalar(bias, x)]);
  const direct = ctx.emit('Mul', [g, ctx.emit('Pow', [d, ctx.scalar(-beta, x)])]);
  // g_c x_c d_c^(-beta-1) = g_c y_c / d_c
  const t = ctx.emit('Div', [ctx.emit('Mul', [g, y]), d]);
  const back = channelWindowMean(ctx, t, size, hi, lo);
  const cross = ctx.emit('Mul', [ctx.emit('Mul', [back, x]), ctx.scalar(2 * alpha * beta, x)]);
  ctx.addGrad(x, ctx.emit('Sub', [direct, cross]));
};
