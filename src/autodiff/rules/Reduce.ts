// Reductions besides ReduceSum and ReduceMean. Each reshapes g and y to the kept shape (reduced axes as 1)
// and broadcasts a local derivative against x.
import type { GradContext, GradRule } from '../context.ts';
import type { Node } from '../../onnx/ir.ts';
import { keptShape, reducedAxes } from './ReduceSum.ts';

function reduction(local: (ctx: GradContext, x: string, yk: string, axes: number[]) => string): GradRule {
  return (node: Node, ctx) => {
    const g = ctx.grad(node.outputs[0]!);
    const x = node.inputs[0]!;
    if (!g || !ctx.needs(x)) return;
    const shape = ctx.shape(x);
    const axes = reducedAxes(node, ctx);
    const kept = keptShape(shape, axes);
    const yk = ctx.reshapeTo(node.outputs[0]!, kept);
    const dx = ctx.emit('Mul', [ctx.reshapeTo(g, kept), local(ctx, x, yk, axes)]);
    // A local derivative written from y alone still has the kept shape.
    const full = ctx.shape(dx).some((d, i) => d !== shape[i]);
    ctx.addGrad(x, full ? ctx.emit('Expand', [dx, ctx.ints(shape)]) : dx);
  };
}

/** ReduceMax and ReduceMin: the gradient goes to the extreme elements; ties split it evenly. */
export const ReduceExtreme = reduction((ctx, x, yk, axes) => {
  const hit = ctx.castLike(ctx.emit('Equal', [x, yk]), x);
  const count = ctx.emit('ReduceSum', [hit, ctx.ints(axes)], { keepdims: { i: 1 } });
  return ctx.emit('Div', [hit, count]);
});

/** y = sqrt(sum x^2): dx = x / y, taken as 0 where y = 0 (then x = 0 too). */
export const ReduceL2 = reduction((ctx, x, yk) => {
  const safe = ctx.emit('Where', [ctx.emit('Equal', [yk, ctx.scalar(0, x)]), ctx.scalar(1, x), yk]);
  return ctx.emit('Div', [x, safe]);
});

/** y = sum |x|: dx = sign(x). */
export const ReduceL1 = reduction((ctx, x) => ctx.emit('Sign', [x]));

/** y = sum x^2: dx = 2 x. */
export const ReduceSumSquare = reduction((ctx, x) => ctx.emit('Mul', [x, ctx.scalar(2, x)]));

/** y = log sum exp(x): dx = exp(x - y). */
export const ReduceLogSumExp = reduction((ctx, x, yk) => ctx.emit('Exp', [ctx.emit('Sub', [x, yk])]));

/** y = log sum x: dx = 1 / sum x = exp(-y). */
export const ReduceLogSum = reduction((ctx, _x, yk) => ctx.emit('Exp', [ctx.emit('Neg', [yk])]));
