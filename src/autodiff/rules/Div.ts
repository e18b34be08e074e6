import type { GradRule } from '../context.ts';

/** y = a / b: da = g / b, db = -g y / b, each reduced over its broadcast axes. */
export const Div: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [a, b] = node.inputs as [string, string];
  const y = node.outputs[0]!;
  if (ctx.needs(a)) ctx.addGrad(a, ctx.unbroadcast(ctx.emit('Div', [g, b]), ctx.shape(a)));
  if (ctx.needs(b)) ctx.addGrad(b, ctx.unbroadcast(ctx.emit('Neg', [ctx.emit('Div', [ctx.emit('Mul', [g, y]), b])]), ctx.shape(b)));
};
