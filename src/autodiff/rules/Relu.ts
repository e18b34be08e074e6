import type { GradRule } from '../context.ts';

/** dx = g * (x > 0) */
export const Relu: GradRule = (node, ctx) => {
  const x = node.inputs[0]!;
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const mask = ctx.castLike(ctx.emit('Greater', [x, ctx.scalar(0, x)]), x);
  ctx.addGrad(x, ctx.emit('Mul', [g, mask]));
};
