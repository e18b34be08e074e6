import type { GradRule } from '../context.ts';

/**
 * Cast between floating types passes the gradient, cast back to the input's type. A cast to an integer
 * or boolean type has a non-float output, which the backward walk never marks active: no gradient flows.
 */
export const Cast: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (g && ctx.needs(x)) ctx.addGrad(x, ctx.castLike(g, x));
};
