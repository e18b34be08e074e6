import type { GradContext, GradRule } from '../context.ts';
import type { Node } from '../../onnx/ir.ts';
import { getInt, sizeOf } from '../../onnx/ir.ts';

/**
 * Flat row-major positions in X of each window's maximum. onnxruntime's Indices count from the start of
 * the whole tensor (batch and channel offsets included) and ignore padding. When the forward node does not
 * use its Indices output, the rule adds it (the forward computes it at no extra pass); column-major
 * indices (storage_order=1) that something else reads are recomputed by a second MaxPool instead.
 */
function argmaxIndices(node: Node, ctx: GradContext): string {
  const y = node.outputs[0]!;
  const columnMajor = getInt(node, 'storage_order', 0) !== 0;
  const existing = node.outputs[1];
  if (existing && !columnMajor) return existing;
  if (!existing) {
    const name = ctx.b.fresh(`${y}_argmax`);
    node.outputs[1] = name;
    delete node.attrs['storage_order'];
    ctx.graph.valueTypes.set(name, { dtype: 'int64', shape: [...ctx.shape(y)] });
    return name;
  }
  const attrs = { ...node.attrs };
  delete attrs['storage_order'];
  return ctx.emitN('MaxPool', [node.inputs[0]!], attrs, 2)[1]!;
}

/** dX = dY scattered (added) onto the arg-max of each window: overlapping windows accumulate. */
export const MaxPool: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const x = node.inputs[0]!;
  const xs = ctx.shape(x);
  const indices = argmaxIndices(node, ctx);
  const zeros = ctx.emit('Expand', [ctx.scalar(0, x), ctx.ints([sizeOf(xs)])]);
  const scattered = ctx.emit('ScatterElements', [zeros, ctx.reshapeTo(indices, [sizeOf(ctx.shape(g))]), ctx.reshapeTo(g, [sizeOf(ctx.shape(g))])], {
    axis: { i: 0 },
    reduction: { s: 'add' },
  });
  ctx.addGrad(x, ctx.reshapeTo(scattered, xs));
};
