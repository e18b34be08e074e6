import type { GradRule } from '../context.ts';

/**
 * Variadic broadcasting Max and Min: the gradient goes to the input(s) equal to the output. Ties split it
 * evenly among the inputs that reach the extreme (so Max(x, x) still passes g in total).
 */
export const MaxMin: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const y = node.outputs[0]!;
  if (node.inputs.length === 1) {
    ctx.addGrad(node.inputs[0]!, g);
    return;
  }
  const hits = node.inputs.map((x) => ctx.castLike(ctx.emit('Equal', [x, y]), y));
  const count = ctx.emit('Sum', hits);
  const share = ctx.emit('Div', [g, count]);
  node.inputs.forEach((x, k) => {
    if (ctx.needs(x)) ctx.addGrad(x, ctx.unbroadcast(ctx.emit('Mul', [share, hits[k]!]), ctx.shape(x)));
  });
};
