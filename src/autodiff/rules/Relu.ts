import type { GradRule } from '../context.ts';

/**
 * dx = g * [y > 0] (y > 0 exactly when x > 0). The mask is cast to float and multiplied: onnxruntime's
 * Where with a broadcast scalar runs single-threaded (0.53 ms on 192x56x56, against 0.12 + 0.13 ms for
 * Cast and Mul; sums of per-node minima). Reading the output y rather than the input x leaves the
 * pre-activation value unread, so onnxruntime can fuse the Relu into the Conv before it.
 */
export const Relu: GradRule = (node, ctx) => {
  const y = node.outputs[0]!;
  const g = ctx.grad(y);
  if (!g) return;
  const mask = ctx.castLike(ctx.emit('Greater', [y, ctx.scalar(0, y)]), y);
  ctx.addGrad(node.inputs[0]!, ctx.emit('Mul', [g, mask]));
};
