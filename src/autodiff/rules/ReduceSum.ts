import type { GradRule } from '../context.ts';
import { toNumbers } from '../../onnx/tensor.ts';
import { getInt } from '../../onnx/ir.ts';
import { FvizError } from '../../errors.ts';

/** Reduced axes of a ReduceX node in canonical form (axes as input for ReduceSum, attribute for the others). */
export function reducedAxes(node: import('../../onnx/ir.ts').Node, ctx: import('../context.ts').GradContext): number[] {
  const x = node.inputs[0]!;
  const r = ctx.rank(x);
  let axes: number[] | undefined;
  if (node.inputs[1]) {
    const c = ctx.constValue(node.inputs[1]);
    if (!c) throw new FvizError(`${node.opType} node '${node.name}': axes must be constant to differentiate`);
    axes = toNumbers(c);
  } else axes = node.attrs['axes']?.ints;
  if (!axes || axes.length === 0) {
    if (getInt(node, 'noop_with_empty_axes', 0)) return [];
    return Array.from({ length: r }, (_, i) => i);
  }
  return axes.map((a) => (a < 0 ? a + r : a)).sort((p, q) => p - q);
}

/** Shape of the reduction output with the reduced axes kept as 1. */
export function keptShape(inShape: number[], axes: number[]): number[] {
  return inShape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** dx = broadcast of g over the reduced axes. */
export const ReduceSum: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const x = node.inputs[0]!;
  const shape = ctx.shape(x);
  const axes = reducedAxes(node, ctx);
  const gk = ctx.reshapeTo(g, keptShape(shape, axes));
  ctx.addGrad(x, ctx.emit('Expand', [gk, ctx.ints(shape)]));
};
