import type { GradRule } from '../context.ts';

/** Expand broadcasts x to the output shape: sum the gradient back over the broadcast axes. */
export const Expand: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (g && ctx.needs(x)) ctx.addGrad(x, ctx.unbroadcast(g, ctx.shape(x)));
};
