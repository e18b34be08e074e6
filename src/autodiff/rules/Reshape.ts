import type { GradRule } from '../context.ts';

/** Reshape, Flatten, Squeeze, Unsqueeze: the gradient is reshaped back to the input's shape. */
export const Reshape: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const x = node.inputs[0]!;
  ctx.addGrad(x, ctx.reshapeTo(g, ctx.shape(x)));
};
