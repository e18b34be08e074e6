import type { GradRule } from '../context.ts';

/** dx = g where x > 0, else 0 (two ops: Greater and Where; cheaper than a cast mask and a Mul). */
export const Relu: GradRule = (node, ctx) => {
  const x = node.inputs[0]!;
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const zero = ctx.scalar(0, x);
  ctx.addGrad(x, ctx.emit('Where', [ctx.emit('Greater', [x, zero]), g, zero]));
};
