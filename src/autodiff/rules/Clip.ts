import type { GradRule } from '../context.ts';
import { toNumbers } from '../../onnx/tensor.ts';

/**
 * Clip(x, min?, max?) = min(max(x, min), max): the gradient passes where min <= x <= max. The bounds are
 * inclusive (PyTorch's convention), so a value sitting exactly on a bound, as pixels do after a previous
 * clip, can still be pushed back inside. A differentiated bound receives the gradient of the values it
 * replaced; when min > max the output is max, which then takes it all.
 */
export const Clip: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [x, min = '', max = ''] = node.inputs as [string, string?, string?];
  const zero = ctx.scalar(0, x);
  const below = min ? ctx.emit('Less', [x, min]) : undefined;
  let above: string | undefined;
  if (max) {
    const lo = ctx.constValue(min);
    const hi = ctx.constValue(max);
    const ordered = !min || (lo && hi && toNumbers(lo)[0]! <= toNumbers(hi)[0]!);
    above = ctx.emit('Greater', [ordered ? x : ctx.emit('Max', [x, min]), max]);
  }
  if (ctx.needs(x)) {
    const outside = below && above ? ctx.emit('Or', [below, above]) : (below ?? above);
    ctx.addGrad(x, outside ? ctx.emit('Where', [outside, zero, g]) : g);
  }
  if (below && ctx.needs(min)) {
    const mask = above ? ctx.emit('And', [below, ctx.emit('Not', [above])]) : below;
    ctx.addGrad(min, ctx.unbroadcast(ctx.emit('Where', [mask, g, zero]), ctx.shape(min)));
  }
  if (above && ctx.needs(max)) ctx.addGrad(max, ctx.unbroadcast(ctx.emit('Where', [above, g, zero]), ctx.shape(max)));
};
