import type { GradRule } from '../context.ts';
import { getFloat, getInt, sizeOf } from '../../onnx/ir.ts';
import { range } from './spatial.ts';

/**
 * LayerNormalization (opset 17): xhat = (x - mu) * rstd over the axes [axis, rank), rstd = 1 / sqrt(var + eps),
 * Y = xhat * Scale + B (Scale and B broadcast to x's normalized shape). With gs = gY * Scale and means over
 * the normalized axes:
 *   dx = rstd * (gs - mean(gs) - xhat * mean(gs * xhat)),  dScale = sum(gY * xhat),  dB = sum(gY),
 * plus, when the optional outputs Mean and InvStdDev carry gradients, gMean / N and -gInv * rstd^2 * xhat / N.
 */
export const LayerNormalization: GradRule = (node, ctx) => {
  const [y, meanOut, invOut] = node.outputs;
  const g = ctx.grad(y!);
  const gMean = meanOut ? ctx.grad(meanOut) : undefined;
  const gInv = invOut ? ctx.grad(invOut) : undefined;
  if (!g && !gMean && !gInv) return;
  const [x, scale, bias] = node.inputs as [string, string, string | undefined];
  const xs = ctx.shape(x);
  const r = xs.length;
  const a = getInt(node, 'axis', -1);
  const axis = a < 0 ? a + r : a;
  const axes = range(r - axis, axis);
  const n = sizeOf(xs.slice(axis));
  const eps = getFloat(node, 'epsilon', 1e-5);
  const mean = (v: string) => ctx.emit('ReduceMean', [v], { axes: { ints: axes }, keepdims: { i: 1 } });
  const centered = ctx.emit('Sub', [x, mean(x)]);
  const variance = mean(ctx.emit('Mul', [centered, centered]));
  const rstd = ctx.emit('Reciprocal', [ctx.emit('Sqrt', [ctx.emit('Add', [variance, ctx.scalar(eps, x)])])]);
  const xhat = ctx.emit('Mul', [centered, rstd]);
  if (g) {
    if (bias && ctx.needs(bias)) ctx.addGrad(bias, ctx.unbroadcast(g, ctx.shape(bias)));
    if (ctx.needs(scale)) ctx.addGrad(scale, ctx.unbroadcast(ctx.emit('Mul', [g, xhat]), ctx.shape(scale)));
    if (ctx.needs(x)) {
      const gs = ctx.emit('Mul', [g, scale]);
      const inner = ctx.emit('Sub', [ctx.emit('Sub', [gs, mean(gs)]), ctx.emit('Mul', [xhat, mean(ctx.emit('Mul', [gs, xhat]))])]);
      ctx.addGrad(x, ctx.emit('Mul', [inner, rstd]));
    }
  }
  if (!ctx.needs(x)) return;
  // The statistics outputs (float32 under the default stash_type) have x's shape with the normalized axes kept as 1.
  if (gMean) ctx.addGrad(x, ctx.emit('Expand', [ctx.emit('Mul', [ctx.castLike(gMean, x), ctx.scalar(1 / n, x)]), ctx.ints(xs)]));
  if (gInv) {
    const k = ctx.emit('Mul', [ctx.emit('Mul', [ctx.castLike(gInv, x), ctx.emit('Mul', [rstd, rstd])]), ctx.scalar(-1 / n, x)]);
    ctx.addGrad(x, ctx.emit('Mul', [xhat, k]));
  }
};
