import type { GradRule } from '../context.ts';
import type { GradContext } from '../context.ts';
import { range } from './spatial.ts';

/** Swap the last two axes. */
function transposeLast(ctx: GradContext, v: string): string {
  const r = ctx.rank(v);
  return ctx.emit('Transpose', [v], { perm: { ints: [...range(r - 2), r - 1, r - 2] } });
}

/**
 * numpy matmul: 1-D operands are promoted to matrices ([K] -> [1, K] on the left, [K, 1] on the right),
 * batch axes broadcast. dA = dY B^T and dB = A^T dY, summed over the axes each operand was broadcast along.
 * A 2-D operand against a batched one gets its gradient from a single matrix product over the folded batch.
 */
export const MatMul: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [a, b] = node.inputs as [string, string];
  const as = ctx.shape(a);
  const bs = ctx.shape(b);
  const a2 = as.length === 1 ? [1, as[0]!] : as;
  const b2 = bs.length === 1 ? [bs[0]!, 1] : bs;
  const M = a2[a2.length - 2]!;
  const N = b2[b2.length - 1]!;
  // dY with the promoted axes restored: [..., M, N].
  const gs = ctx.shape(g);
  const batch = as.length === 1 && bs.length === 1 ? [] : gs.slice(0, gs.length - (as.length === 1 ? 0 : 1) - (bs.length === 1 ? 0 : 1));
  const g2 = ctx.reshapeTo(g, [...batch, M, N]);
  const A = ctx.reshapeTo(a, a2);
  const B = ctx.reshapeTo(b, b2);
  const rows = batch.reduce((p, d) => p * d, 1) * M;
  if (ctx.needs(a)) {
    let da: string;
    if (b2.length === 2) da = ctx.emit('MatMul', [g2, ctx.emit('Transpose', [B], { perm: { ints: [1, 0] } })]);
    else da = ctx.emit('MatMul', [g2, transposeLast(ctx, B)]);
    ctx.addGrad(a, ctx.reshapeTo(ctx.unbroadcast(da, a2), as));
  }
  if (ctx.needs(b)) {
    let db: string;
    if (b2.length === 2 && a2.length > 2) {
      // Fold A's batch into its rows: dB = A_flat^T dY_flat, one Gemm.
      const af = ctx.reshapeTo(A, [rows, a2[a2.length - 1]!]);
      const gf = ctx.reshapeTo(g2, [rows, N]);
      db = ctx.emit('Gemm', [af, gf], { transA: { i: 1 } });
    } else db = ctx.emit('MatMul', [transposeLast(ctx, A), g2]);
    ctx.addGrad(b, ctx.reshapeTo(ctx.unbroadcast(db, b2), bs));
  }
};
