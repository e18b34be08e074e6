import type { GradRule } from '../context.ts';
import { sizeOf } from '../../onnx/ir.ts';
import { range } from './spatial.ts';

/** dX = dY / (number of positions), broadcast over the positions. */
export const GlobalAveragePool: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const x = node.inputs[0]!;
  const xs = ctx.shape(x);
  const scaled = ctx.emit('Mul', [g, ctx.scalar(1 / sizeOf(xs.slice(2)), x)]);
  ctx.addGrad(x, ctx.emit('Expand', [scaled, ctx.ints(xs)]));
};

/** dX = dY at the maximum of each (batch, channel) map, shared equally between tied maxima (a subgradient). */
export const GlobalMaxPool: GradRule = (node, ctx) => {
  const y = node.outputs[0]!;
  const g = ctx.grad(y);
  if (!g) return;
  const x = node.inputs[0]!;
  const mask = ctx.castLike(ctx.emit('Equal', [x, y]), x);
  const count = ctx.emit('ReduceSum', [mask, ctx.ints(range(ctx.rank(x) - 2, 2))], { keepdims: { i: 1 } });
  ctx.addGrad(x, ctx.emit('Mul', [mask, ctx.emit('Div', [g, count])]));
};
