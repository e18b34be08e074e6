import type { GradRule } from '../context.ts';
import { getInt } from '../../onnx/ir.ts';

function axisOf(node: import('../../onnx/ir.ts').Node, rank: number): number {
  const a = getInt(node, 'axis', -1);
  return a < 0 ? a + rank : a;
}

/** y = softmax(x) along one axis (opset 13 semantics): dx = y (g - sum(g y)). */
export const Softmax: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (!g || !ctx.needs(x)) return;
  const y = node.outputs[0]!;
  const axes = ctx.ints([axisOf(node, ctx.rank(x))]);
  const gy = ctx.emit('Mul', [g, y]);
  const dot = ctx.emit('ReduceSum', [gy, axes], { keepdims: { i: 1 } });
  ctx.addGrad(x, ctx.emit('Sub', [gy, ctx.emit('Mul', [y, dot])]));
};

/** y = log softmax(x): dx = g - exp(y) sum(g). */
export const LogSoftmax: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (!g || !ctx.needs(x)) return;
  const y = node.outputs[0]!;
  const total = ctx.emit('ReduceSum', [g, ctx.ints([axisOf(node, ctx.rank(x))])], { keepdims: { i: 1 } });
  ctx.addGrad(x, ctx.emit('Sub', [g, ctx.emit('Mul', [ctx.emit('Exp', [y]), total])]));
};
