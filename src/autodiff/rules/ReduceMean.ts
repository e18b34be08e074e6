import type { GradRule } from '../context.ts';
import { keptShape, reducedAxes } from './ReduceSum.ts';

/** dx = broadcast of g / (number of reduced elements). */
export const ReduceMean: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const x = node.inputs[0]!;
  const shape = ctx.shape(x);
  const axes = reducedAxes(node, ctx);
  const count = axes.reduce((p, a) => p * shape[a]!, 1);
  const gk = ctx.reshapeTo(g, keptShape(shape, axes));
  const scaled = ctx.emit('Mul', [gk, ctx.scalar(1 / count, x)]);
  ctx.addGrad(x, ctx.emit('Expand', [scaled, ctx.ints(shape)]));
};
