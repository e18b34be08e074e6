import type { GradRule } from '../context.ts';

/**
 * dx = g where y > 0, else 0 (two ops: Greater and Where; cheaper than a cast mask and a Mul). It reads
 * the output y rather than the input x (y > 0 exactly when x > 0): the backward then leaves the
 * pre-activation value unread, so onnxruntime can fuse the Relu into the Conv before it.
 */
export const Relu: GradRule = (node, ctx) => {
  const y = node.outputs[0]!;
  const g = ctx.grad(y);
  if (!g) return;
  const zero = ctx.scalar(0, y);
  ctx.addGrad(node.inputs[0]!, ctx.emit('Where', [ctx.emit('Greater', [y, zero]), g, zero]));
};
