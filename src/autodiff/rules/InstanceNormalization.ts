import type { GradRule } from '../context.ts';
import { getFloat } from '../../onnx/ir.ts';
import { range } from './spatial.ts';

/**
 * y = scale * xhat + B, xhat = (x - mu) / sqrt(var + eps) with mu, var over the positions of each
 * (batch, channel). With gs = g * scale:
 *   dx = rstd * (gs - mean(gs) - xhat * mean(gs * xhat)),  dscale = sum(g * xhat),  dB = sum(g).
 */
export const InstanceNormalization: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [x, scale, bias] = node.inputs as [string, string, string];
  const eps = getFloat(node, 'epsilon', 1e-5);
  const xs = ctx.shape(x);
  const spatial = range(xs.length - 2, 2);
  const perChannel = [xs[1]!, ...spatial.map(() => 1)];
  const mean = (v: string) => ctx.emit('ReduceMean', [v], { axes: { ints: spatial }, keepdims: { i: 1 } });
  const sumAxes = ctx.ints([0, ...spatial]);
  const reduce = (v: string) => ctx.emit('ReduceSum', [v, sumAxes], { keepdims: { i: 0 } });
  const centered = ctx.emit('Sub', [x, mean(x)]);
  const variance = mean(ctx.emit('Mul', [centered, centered]));
  const rstd = ctx.emit('Reciprocal', [ctx.emit('Sqrt', [ctx.emit('Add', [variance, ctx.scalar(eps, x)])])]);
  const xhat = ctx.emit('Mul', [centered, rstd]);
  if (ctx.needs(bias)) ctx.addGrad(bias, reduce(g));
  if (ctx.needs(scale)) ctx.addGrad(scale, reduce(ctx.emit('Mul', [g, xhat])));
  if (ctx.needs(x)) {
    const gs = ctx.emit('Mul', [g, ctx.reshapeTo(scale, perChannel)]);
    const inner = ctx.emit('Sub', [
      ctx.emit('Sub', [gs, mean(gs)]),
      ctx.emit('Mul', [xhat, mean(ctx.emit('Mul', [gs, xhat]))]),
    ]);
    ctx.addGrad(x, ctx.emit('Mul', [inner, rstd]));
  }
};
