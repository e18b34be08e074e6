import type { GradRule } from '../context.ts';

export const Sub: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [a, b] = node.inputs as [string, string];
  if (ctx.needs(a)) ctx.addGrad(a, ctx.unbroadcast(g, ctx.shape(a)));
  if (ctx.needs(b)) ctx.addGrad(b, ctx.unbroadcast(ctx.emit('Neg', [g]), ctx.shape(b)));
};
