import type { GradRule } from '../context.ts';

/** Where(cond, a, b): a receives g where cond holds, b elsewhere; the condition carries no gradient. */
export const Where: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [cond, a, b] = node.inputs as [string, string, string];
  const zero = ctx.scalar(0, g);
  if (ctx.needs(a)) ctx.addGrad(a, ctx.unbroadcast(ctx.emit('Where', [cond, g, zero]), ctx.shape(a)));
  if (ctx.needs(b)) ctx.addGrad(b, ctx.unbroadcast(ctx.emit('Where', [cond, zero, g]), ctx.shape(b)));
};
