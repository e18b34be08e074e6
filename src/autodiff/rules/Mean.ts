import type { GradRule } from '../context.ts';

/** Variadic broadcasting Mean: each input receives g / (number of inputs), reduced over its broadcast axes. */
export const Mean: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const scaled = ctx.emit('Mul', [g, ctx.scalar(1 / node.inputs.length, g)]);
  for (const x of node.inputs) if (ctx.needs(x)) ctx.addGrad(x, ctx.unbroadcast(scaled, ctx.shape(x)));
};
