import type { GradRule } from '../context.ts';

/** y = x (x > 0), slope x otherwise: dx = g (1 or slope), dslope = g x where x <= 0, reduced to slope's shape. */
export const PRelu: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [x, slope] = node.inputs as [string, string];
  const positive = ctx.emit('Greater', [x, ctx.scalar(0, x)]);
  if (ctx.needs(x)) {
    const local = ctx.emit('Where', [positive, ctx.scalar(1, x), slope]);
    ctx.addGrad(x, ctx.unbroadcast(ctx.emit('Mul', [g, local]), ctx.shape(x)));
  }
  if (ctx.needs(slope)) {
    const local = ctx.emit('Where', [positive, ctx.scalar(0, x), x]);
    ctx.addGrad(slope, ctx.unbroadcast(ctx.emit('Mul', [g, local]), ctx.shape(slope)));
  }
};
