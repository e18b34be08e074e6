import type { GradRule } from '../context.ts';

/** Broadcasting Add: each input receives the upstream gradient summed over its broadcast axes. */
export const Add: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  for (const x of node.inputs) if (ctx.needs(x)) ctx.addGrad(x, ctx.unbroadcast(g, ctx.shape(x)));
};
