// Elementwise unary ops: dx = g * f'(x), with f' written from x or from the output y where that is cheaper.
import type { GradContext, GradRule } from '../context.ts';
import type { Node } from '../../onnx/ir.ts';
import { getFloat } from '../../onnx/ir.ts';

/** A rule from a function giving the local derivative f' (same shape as x) in terms of x and y. */
function unary(derivative: (ctx: GradContext, x: string, y: string, node: Node) => string): GradRule {
  return (node, ctx) => {
    const g = ctx.grad(node.outputs[0]!);
    const x = node.inputs[0]!;
    if (!g || !ctx.needs(x)) return;
    ctx.addGrad(x, ctx.emit('Mul', [g, derivative(ctx, x, node.outputs[0]!, node)]));
  };
}

/** `ifPos` where x > 0, else `otherwise` (either may be a scalar). */
function wherePositive(ctx: GradContext, x: string, ifPos: string, otherwise: string): string {
  return ctx.emit('Where', [ctx.emit('Greater', [x, ctx.scalar(0, x)]), ifPos, otherwise]);
}

export const Neg: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (g && ctx.needs(node.inputs[0]!)) ctx.addGrad(node.inputs[0]!, ctx.emit('Neg', [g]));
};

/** Ops that are piecewise constant: their gradient is zero almost everywhere, so nothing flows back. */
export const ZeroGradient: GradRule = () => {};

/**
 * y = x (x > 0), alpha x otherwise. With alpha >= 0, y > 0 exactly when x > 0: the mask reads y (see Relu).
 * With 0 <= alpha <= 1 the slope is Max(Cast(y > 0), alpha), exactly 1 or alpha: onnxruntime's Where with
 * broadcast scalars runs single-threaded, Cast and Max do not.
 */
export const LeakyRelu = unary((ctx, x, y, node) => {
  const alpha = getFloat(node, 'alpha', 0.01);
  if (alpha >= 0 && alpha <= 1) return ctx.emit('Max', [ctx.castLike(ctx.emit('Greater', [y, ctx.scalar(0, y)]), y), ctx.scalar(alpha, y)]);
  return wherePositive(ctx, alpha >= 0 ? y : x, ctx.scalar(1, x), ctx.scalar(alpha, x));
});

/** y = x (x > 0), alpha (e^x - 1) otherwise; there y' = y + alpha. */
export const Elu = unary((ctx, x, y, node) =>
  wherePositive(ctx, x, ctx.scalar(1, x), ctx.emit('Add', [y, ctx.scalar(getFloat(node, 'alpha', 1), x)])),
);

/** y = gamma x (x > 0), gamma alpha (e^x - 1) otherwise; there y' = y + gamma alpha. */
export const Selu = unary((ctx, x, y, node) => {
  const alpha = getFloat(node, 'alpha', 1.67326319217681884765625);
  const gamma = getFloat(node, 'gamma', 1.05070102214813232421875);
  return wherePositive(ctx, x, ctx.scalar(gamma, x), ctx.emit('Add', [y, ctx.scalar(gamma * alpha, x)]));
});

/** y' = y (1 - y) */
export const Sigmoid = unary((ctx, x, y) => ctx.emit('Mul', [y, ctx.emit('Sub', [ctx.scalar(1, x), y])]));

/** y' = 1 - y^2 */
export const Tanh = unary((ctx, x, y) => ctx.emit('Sub', [ctx.scalar(1, x), ctx.emit('Mul', [y, y])]));

/** y = log(1 + e^x); y' = sigmoid(x) */
export const Softplus = unary((ctx, x) => ctx.emit('Sigmoid', [x]));

/** y = x / (1 + |x|); y' = 1 / (1 + |x|)^2 */
export const Softsign = unary((ctx, x) => {
  const d = ctx.emit('Add', [ctx.scalar(1, x), ctx.emit('Abs', [x])]);
  return ctx.emit('Reciprocal', [ctx.emit('Mul', [d, d])]);
});

/** y = max(0, min(1, alpha x + beta)); y' = alpha strictly inside (0, 1). */
export const HardSigmoid = unary((ctx, x, y, node) => {
  const inside = ctx.emit('And', [ctx.emit('Greater', [y, ctx.scalar(0, x)]), ctx.emit('Less', [y, ctx.scalar(1, x)])]);
  return ctx.emit('Where', [inside, ctx.scalar(getFloat(node, 'alpha', 0.2), x), ctx.scalar(0, x)]);
});

export const Exp = unary((_ctx, _x, y) => y);

export const Log = unary((ctx, x) => ctx.emit('Reciprocal', [x]));

/** y' = 1 / (2 y) */
export const Sqrt = unary((ctx, x, y) => ctx.emit('Div', [ctx.scalar(0.5, x), y]));

/** y' = sign(x): zero at x = 0 (a subgradient). */
export const Abs = unary((ctx, x) => ctx.emit('Sign', [x]));

/** y = 1/x; y' = -y^2 */
export const Reciprocal = unary((ctx, _x, y) => ctx.emit('Neg', [ctx.emit('Mul', [y, y])]));

/** y' = 2/sqrt(pi) e^(-x^2) */
export const Erf = unary((ctx, x) =>
  ctx.emit('Mul', [ctx.scalar(2 / Math.sqrt(Math.PI), x), ctx.emit('Exp', [ctx.emit('Neg', [ctx.emit('Mul', [x, x])])])]),
);

export const Sin = unary((ctx, x) => ctx.emit('Cos', [x]));

export const Cos = unary((ctx, x) => ctx.emit('Neg', [ctx.emit('Sin', [x])]));

/** y = x max(0, min(1, x/6 + 1/2)); y' = 0 below -3, 1 above 3, x/3 + 1/2 between. */
export const HardSwish = unary((ctx, x) => {
  const ramp = ctx.emit('Add', [ctx.emit('Mul', [x, ctx.scalar(1 / 3, x)]), ctx.scalar(0.5, x)]);
  const capped = ctx.emit('Where', [ctx.emit('Greater', [x, ctx.scalar(3, x)]), ctx.scalar(1, x), ramp]);
  return ctx.emit('Where', [ctx.emit('Less', [x, ctx.scalar(-3, x)]), ctx.scalar(0, x), capped]);
});
