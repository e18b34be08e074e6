import type { GradRule } from '../context.ts';

/** d(a*b) = g*b, g*a, each reduced over its broadcast axes. */
export const Mul: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [a, b] = node.inputs as [string, string];
  if (ctx.needs(a)) ctx.addGrad(a, ctx.unbroadcast(ctx.emit('Mul', [g, b]), ctx.shape(a)));
  if (ctx.needs(b)) ctx.addGrad(b, ctx.unbroadcast(ctx.emit('Mul', [g, a]), ctx.shape(b)));
};
