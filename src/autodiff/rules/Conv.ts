import type { GradRule } from '../context.ts';
import { getInt } from '../../onnx/ir.ts';
import { convBiasGrad, convInputGrad, convWeightGradient } from './convAdjoint.ts';
import { windowOf } from './spatial.ts';

/** Y = Conv(X, W, B): dX is the transposed convolution of dY, dW the correlation of X with dY, dB the sum of dY. */
export const Conv: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [x, w, b] = node.inputs as [string, string, string | undefined];
  const xs = ctx.shape(x);
  const kernel = ctx.shape(w).slice(2);
  const win = windowOf(node, xs.slice(2), kernel);
  const group = getInt(node, 'group', 1);
  if (ctx.needs(x)) ctx.addGrad(x, convInputGrad(ctx, g, w, win, group, xs));
  if (ctx.needs(w)) ctx.addGrad(w, convWeightGradient(ctx, x, g, win, group));
  if (b && ctx.needs(b)) ctx.addGrad(b, convBiasGrad(ctx, g));
};
