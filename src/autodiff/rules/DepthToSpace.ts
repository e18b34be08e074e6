import { getInt, getString } from '../../onnx/ir.ts';
import type { GradContext, GradRule } from '../context.ts';
import type { Node } from '../../onnx/ir.ts';

/** The op as Reshape to 6-D, Transpose, Reshape (the ONNX definition): its 6-D shape and permutation. */
function asTranspose(node: Node, ctx: GradContext): { shape6: number[]; perm: number[] } {
  const [N, C, H, W] = ctx.shape(node.inputs[0]!) as [number, number, number, number];
  const b = getInt(node, 'blocksize', 1);
  if (node.opType === 'SpaceToDepth') return { shape6: [N, C, H / b, b, W / b, b], perm: [0, 3, 5, 1, 2, 4] };
  if (getString(node, 'mode', 'DCR') === 'CRD') return { shape6: [N, C / (b * b), b, b, H, W], perm: [0, 1, 4, 2, 5, 3] };
  return { shape6: [N, b, b, C / (b * b), H, W], perm: [0, 3, 4, 1, 5, 2] };
}

/** DepthToSpace and SpaceToDepth move elements: g goes back through the inverse Transpose between Reshapes. */
export const DepthToSpace: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (!g || !ctx.needs(x)) return;
  const { shape6, perm } = asTranspose(node, ctx);
  const inverse = new Array<number>(6);
  perm.forEach((p, i) => (inverse[p] = i));
  const moved = ctx.reshapeTo(g, perm.map((p) => shape6[p]!));
  ctx.addGrad(x, ctx.reshapeTo(ctx.emit('Transpose', [moved], { perm: { ints: inverse } }), ctx.shape(x)));
};

/** TopK's values read their inputs at the indices: g is scattered back along the axis (indices are distinct). */
export const TopK: GradRule = (node, ctx) => {
  const [values, indices] = node.outputs as [string, string];
  const g = ctx.grad(values);
  const x = node.inputs[0]!;
  if (!g || !ctx.needs(x)) return;
  const r = ctx.rank(x);
  const axis = (getInt(node, 'axis', -1) + r) % r;
  ctx.addGrad(x, ctx.emit('ScatterElements', [ctx.zerosLike(x), indices, g], { axis: { i: axis } }));
};
