import { FvizError } from '../../errors.ts';
import type { Node } from '../../onnx/ir.ts';
import { getInt, getString } from '../../onnx/ir.ts';
import type { GradContext, GradRule } from '../context.ts';

function reduction(node: Node, ctx: GradContext): 'none' | 'add' {
  const r = getString(node, 'reduction', 'none');
  if (r === 'none' || r === 'add') return r;
  const [data, , updates] = node.inputs as [string, string, string];
  if (!ctx.needs(data) && !ctx.needs(updates)) return 'none';
  throw new FvizError(`${node.opType} node '${node.name}': reduction '${r}' has no gradient rule in fviz (only 'none' and 'add')`, {
    subject: node.opType,
  });
}

/**
 * ScatterND(data, indices, updates): the updates read g at their indices (GatherND); data reads g where no
 * update landed (reduction 'none': those slots are overwritten with zeros) or everywhere ('add').
 * With reduction 'none' and an index named twice the forward itself is undefined; the rule assumes none is.
 */
export const ScatterND: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [data, indices, updates] = node.inputs as [string, string, string];
  const red = reduction(node, ctx);
  if (ctx.needs(updates)) ctx.addGrad(updates, ctx.emit('GatherND', [g, indices]));
  if (ctx.needs(data)) ctx.addGrad(data, red === 'add' ? g : ctx.emit('ScatterND', [g, indices, ctx.zerosLike(updates)]));
};

/** ScatterElements: as ScatterND, with GatherElements along the axis. */
export const ScatterElements: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [data, indices, updates] = node.inputs as [string, string, string];
  const red = reduction(node, ctx);
  const axis = { axis: { i: getInt(node, 'axis', 0) } };
  if (ctx.needs(updates)) ctx.addGrad(updates, ctx.emit('GatherElements', [g, indices], axis));
  if (ctx.needs(data)) ctx.addGrad(data, red === 'add' ? g : ctx.emit('ScatterElements', [g, indices, ctx.zerosLike(updates)], axis));
};

/** GatherND (batch_dims 0): scatter-add g into zeros at the same indices, so repeated indices accumulate. */
export const GatherND: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const [data, indices] = node.inputs as [string, string];
  if (!g || !ctx.needs(data)) return;
  if (getInt(node, 'batch_dims', 0) !== 0)
    throw new FvizError(`GatherND node '${node.name}': batch_dims ${getInt(node, 'batch_dims', 0)} has no gradient rule in fviz (only 0)`, {
      subject: node.opType,
    });
  ctx.addGrad(data, ctx.emit('ScatterND', [ctx.zerosLike(data), indices, g], { reduction: { s: 'add' } }));
};

/** CumSum: each input reaches the sums at and after it (before it when reversed): the reverse CumSum of g. */
export const CumSum: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const [x, axis] = node.inputs as [string, string];
  if (!g || !ctx.needs(x)) return;
  const reverse = getInt(node, 'reverse', 0) ? 0 : 1;
  ctx.addGrad(x, ctx.emit('CumSum', [g, axis], { exclusive: { i: getInt(node, 'exclusive', 0) }, reverse: { i: reverse } }));
};
