import type { GradRule } from '../context.ts';

/** Identity (and Dropout at inference, which normalization turns into Identity): the gradient passes through. */
export const Identity: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (g) ctx.addGrad(node.inputs[0]!, g);
};
