import type { GradRule } from '../context.ts';
import { getInts } from '../../onnx/ir.ts';

/** dx = transpose of g by the inverse permutation (default perm: reversed axes). */
export const Transpose: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (!g || !ctx.needs(x)) return;
  const r = ctx.rank(x);
  const perm = getInts(node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  const inverse = new Array<number>(r);
  perm.forEach((p, i) => (inverse[p] = i));
  ctx.addGrad(x, ctx.emit('Transpose', [g], { perm: { ints: inverse } }));
};
