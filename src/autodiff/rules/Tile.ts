import type { GradRule } from '../context.ts';

/**
 * Tile with repeats r: output index k d + j along an axis of size d reads x[j]. Viewing the gradient as
 * [r0, d0, r1, d1, ...] and summing over the r axes gives dx.
 */
export const Tile: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (!g || !ctx.needs(x)) return;
  const xs = ctx.shape(x);
  const ys = ctx.shape(node.outputs[0]!);
  const repeats = xs.map((d, i) => (d === 0 ? 0 : ys[i]! / d));
  if (repeats.some((r) => r === 0)) return; // an empty output: x gets no gradient (zero)
  const tiledAxes = repeats.flatMap((r, i) => (r > 1 ? [i] : []));
  if (tiledAxes.length === 0) {
    ctx.addGrad(x, ctx.reshapeTo(g, xs));
    return;
  }
  const split = xs.flatMap((d, i) => [repeats[i]!, d]);
  const summed = ctx.emit('ReduceSum', [ctx.reshapeTo(g, split), ctx.ints(tiledAxes.map((i) => 2 * i))], { keepdims: { i: 0 } });
  ctx.addGrad(x, ctx.reshapeTo(summed, xs));
};
