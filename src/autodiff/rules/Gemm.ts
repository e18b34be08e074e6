import type { GradRule } from '../context.ts';
import { getFloat, getInt } from '../../onnx/ir.ts';

/**
 * Y = alpha * A' B' + beta * C with A' = transA ? A^T : A, B' = transB ? B^T : B. Each gradient is one Gemm:
 * dA' = alpha dY B'^T, dB' = alpha A'^T dY, written so that no operand is transposed in the graph.
 */
export const Gemm: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [a, b, c] = node.inputs as [string, string, string | undefined];
  const alpha = getFloat(node, 'alpha', 1);
  const beta = getFloat(node, 'beta', 1);
  const tA = getInt(node, 'transA', 0) !== 0;
  const tB = getInt(node, 'transB', 0) !== 0;
  const gemm = (p: string, q: string, transP: boolean, transQ: boolean) => {
    const attrs: Record<string, { i?: number; f?: number }> = { transA: { i: transP ? 1 : 0 }, transB: { i: transQ ? 1 : 0 } };
    if (alpha !== 1) attrs['alpha'] = { f: alpha };
    return ctx.emit('Gemm', [p, q], attrs);
  };
  // dA = alpha dY B'^T, or its transpose alpha B' dY^T.
  if (ctx.needs(a)) ctx.addGrad(a, tA ? gemm(b, g, tB, true) : gemm(g, b, false, !tB));
  // dB = alpha A'^T dY, or its transpose alpha dY^T A'.
  if (ctx.needs(b)) ctx.addGrad(b, tB ? gemm(g, a, true, tA) : gemm(a, g, !tA, false));
  if (c && ctx.needs(c)) {
    const scaled = beta === 1 ? g : ctx.emit('Mul', [g, ctx.scalar(beta, g)]);
    ctx.addGrad(c, ctx.unbroadcast(scaled, ctx.shape(c)));
  }
};
