import type { GradRule } from '../context.ts';
import { getInt } from '../../onnx/ir.ts';

/** Each input receives its own slab of g along the concatenation axis. */
export const Concat: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const r = ctx.rank(node.outputs[0]!);
  const axis = ((getInt(node, 'axis', 0) % r) + r) % r;
  let offset = 0;
  for (const x of node.inputs) {
    const size = ctx.shape(x)[axis]!;
    if (ctx.needs(x) && size > 0)
      ctx.addGrad(x, ctx.emit('Slice', [g, ctx.ints([offset]), ctx.ints([offset + size]), ctx.ints([axis])]));
    offset += size;
  }
};
