import type { GradRule } from '../context.ts';
import { getInt } from '../../onnx/ir.ts';

/** dx = the outputs' gradients concatenated back along the split axis (zeros for outputs nobody reads). */
export const Split: GradRule = (node, ctx) => {
  const x = node.inputs[0]!;
  if (!ctx.needs(x)) return;
  const r = ctx.rank(x);
  const axis = ((getInt(node, 'axis', 0) % r) + r) % r;
  const parts = node.outputs.filter((o) => ctx.shape(o)[axis]! > 0).map((o) => ctx.grad(o) ?? ctx.zerosLike(o));
  ctx.addGrad(x, parts.length === 1 ? parts[0]! : ctx.emit('Concat', parts, { axis: { i: axis } }));
};
