import type { GradRule } from '../context.ts';
import { getInt, sizeOf } from '../../onnx/ir.ts';

/**
 * Gather(data, indices, axis): view data as [pre, D, post] and g as [pre, n, post] (n = number of
 * indices), then scatter-add g into zeros along the middle axis, so repeated indices accumulate.
 */
export const Gather: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const [data, indices] = node.inputs as [string, string];
  if (!g || !ctx.needs(data)) return;
  const shape = ctx.shape(data);
  const r = shape.length;
  const axis = ((getInt(node, 'axis', 0) % r) + r) % r;
  const pre = sizeOf(shape.slice(0, axis));
  const post = sizeOf(shape.slice(axis + 1));
  const n = sizeOf(ctx.shape(indices));
  if (n === 0 || pre * post === 0) return;
  // ScatterElements accepts negative indices, as Gather does.
  const full = ctx.emit('Expand', [ctx.reshapeTo(indices, [1, n, 1]), ctx.ints([pre, n, post])]);
  const base = ctx.emit('Expand', [ctx.scalar(0, data), ctx.ints([pre, shape[axis]!, post])]);
  const scattered = ctx.emit('ScatterElements', [base, full, ctx.reshapeTo(g, [pre, n, post])], {
    axis: { i: 1 },
    reduction: { s: 'add' },
  });
  ctx.addGrad(data, ctx.reshapeTo(scattered, shape));
};

/** GatherElements: scatter-add g at the same indices. */
export const GatherElements: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const [data, indices] = node.inputs as [string, string];
  if (!g || !ctx.needs(data)) return;
  const r = ctx.rank(data);
  const axis = ((getInt(node, 'axis', 0) % r) + r) % r;
  const base = ctx.zerosLike(data);
  ctx.addGrad(data, ctx.emit('ScatterElements', [base, indices, g], { axis: { i: axis }, reduction: { s: 'add' } }));
};
