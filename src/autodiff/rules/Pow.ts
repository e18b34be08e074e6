import type { GradRule } from '../context.ts';

/**
 * y = a^b: da = g b a^(b-1) (no division by a, so a = 0 is fine); db = g y log(a), taken as 0 where
 * a <= 0 (at a = 0 that is PyTorch's choice; for a < 0, a^b is real only at integer b, where no
 * derivative in b exists).
 */
export const Pow: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [a, b] = node.inputs as [string, string];
  const y = node.outputs[0]!;
  if (ctx.needs(a)) {
    const bMinus1 = ctx.emit('Sub', [b, ctx.scalar(1, b)]);
    const local = ctx.emit('Mul', [ctx.castLike(b, a), ctx.emit('Pow', [a, bMinus1])]);
    ctx.addGrad(a, ctx.unbroadcast(ctx.emit('Mul', [g, local]), ctx.shape(a)));
  }
  if (ctx.needs(b)) {
    const positive = ctx.emit('Greater', [a, ctx.scalar(0, a)]);
    const safeA = ctx.emit('Where', [positive, a, ctx.scalar(1, a)]);
    const logA = ctx.castLike(ctx.emit('Log', [safeA]), b);
    ctx.addGrad(b, ctx.unbroadcast(ctx.emit('Mul', [ctx.emit('Mul', [g, ctx.castLike(y, b)]), logA]), ctx.shape(b)));
  }
};
