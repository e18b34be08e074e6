// Less common activations exporters write: Celu (torch CELU), Shrink (torch hardshrink/softshrink),
// ThresholdedRelu (Keras ThresholdedReLU through tf2onnx). dx = g * f'(x).
import type { GradContext, GradRule } from '../context.ts';
import { getFloat } from '../../onnx/ir.ts';

function local(derivative: (ctx: GradContext, x: string, y: string, attr: (name: string, d: number) => number) => string): GradRule {
  return (node, ctx) => {
    const g = ctx.grad(node.outputs[0]!);
    const x = node.inputs[0]!;
    if (!g || !ctx.needs(x)) return;
    const d = derivative(ctx, x, node.outputs[0]!, (name, dflt) => getFloat(node, name, dflt));
    ctx.addGrad(x, ctx.emit('Mul', [g, d]));
  };
}

/** y = x (x > 0), alpha (e^(x / alpha) - 1) otherwise; there y' = e^(x / alpha) = y / alpha + 1. */
export const Celu = local((ctx, x, y, attr) => {
  const alpha = attr('alpha', 1);
  const neg = ctx.emit('Add', [ctx.emit('Mul', [y, ctx.scalar(1 / alpha, x)]), ctx.scalar(1, x)]);
  return ctx.emit('Where', [ctx.emit('Greater', [x, ctx.scalar(0, x)]), ctx.scalar(1, x), neg]);
});

/** y = x where x > alpha, else 0: y' is that mask. */
export const ThresholdedRelu = local((ctx, x, _y, attr) => ctx.castLike(ctx.emit('Greater', [x, ctx.scalar(attr('alpha', 1), x)]), x));

/** y = x -+ bias where |x| > lambd, else 0: y' is the mask |x| > lambd. */
export const Shrink = local((ctx, x, _y, attr) => ctx.castLike(ctx.emit('Greater', [ctx.emit('Abs', [x]), ctx.scalar(attr('lambd', 0.5), x)]), x));
