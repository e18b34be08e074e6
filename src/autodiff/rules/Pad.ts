import type { GradContext, GradRule } from '../context.ts';
import { getString } from '../../onnx/ir.ts';
import { FvizError } from '../../errors.ts';
import { toNumbers } from '../../onnx/tensor.ts';

const BEFORE_START = -(2 ** 53 - 1);

function slice(ctx: GradContext, v: string, axis: number, start: number, end: number, step = 1): string {
  const inputs = [v, ctx.ints([start]), ctx.ints([end]), ctx.ints([axis])];
  if (step !== 1) inputs.push(ctx.ints([step]));
  return ctx.emit('Slice', inputs);
}

/** Zero-pad `v` along one axis. */
function zeroPad(ctx: GradContext, v: string, axis: number, before: number, after: number): string {
  if (before === 0 && after === 0) return v;
  const r = ctx.rank(v);
  const pads = new Array<number>(2 * r).fill(0);
  pads[axis] = before;
  pads[axis + r] = after;
  return ctx.emit('Pad', [v, ctx.ints(pads)]);
}

function sumAlong(ctx: GradContext, v: string, axis: number): string {
  return ctx.emit('ReduceSum', [v, ctx.ints([axis])], { keepdims: { i: 1 } });
}

/**
 * The adjoint of edge or reflect padding along one axis (input length n, pads pb and pe): the centre of
 * dY plus the border folded back onto the elements it copied.
 */
function foldAxis(ctx: GradContext, g: string, axis: number, n: number, pb: number, pe: number, mode: string): string {
  const parts = [slice(ctx, g, axis, pb, pb + n)];
  if (mode === 'edge') {
    if (pb > 0) parts.push(zeroPad(ctx, sumAlong(ctx, slice(ctx, g, axis, 0, pb), axis), axis, 0, n - 1));
    if (pe > 0) parts.push(zeroPad(ctx, sumAlong(ctx, slice(ctx, g, axis, pb + n, pb + n + pe), axis), axis, n - 1, 0));
  } else {
    // reflect: padded[pb - j] = x[j] and padded[pb + n - 1 + j] = x[n - 1 - j] for j >= 1.
    if (pb > 0) parts.push(zeroPad(ctx, slice(ctx, g, axis, pb - 1, BEFORE_START, -1), axis, 1, n - 1 - pb));
    if (pe > 0) parts.push(zeroPad(ctx, slice(ctx, g, axis, pb + n + pe - 1, pb + n - 1, -1), axis, n - 1 - pe, 1));
  }
  return parts.length === 1 ? parts[0]! : ctx.emit('Sum', parts);
}

/** Pad (opset 17: data, pads, constant_value; modes constant, reflect, edge; negative pads crop). */
export const Pad: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const [x, padsIn, value] = node.inputs as [string, string, string | undefined];
  const mode = getString(node, 'mode', 'constant');
  if (node.inputs[3]) throw new FvizError(`Pad node '${node.name}': the axes input (opset 18) has no gradient rule`);
  const pc = ctx.constValue(padsIn);
  if (!pc) throw new FvizError(`Pad node '${node.name}': pads must be constant to differentiate`);
  const pads = toNumbers(pc);
  const xs = ctx.shape(x);
  const r = xs.length;
  const gs = ctx.shape(g);
  if (mode === 'constant') {
    let d = g;
    for (let a = 0; a < r; a++) {
      const [pb, pe] = [pads[a]!, pads[a + r]!];
      if (pb > 0 || pe > 0) d = slice(ctx, d, a, Math.max(pb, 0), gs[a]! - Math.max(pe, 0));
      d = zeroPad(ctx, d, a, Math.max(-pb, 0), Math.max(-pe, 0));
    }
    if (ctx.needs(x)) ctx.addGrad(x, d);
    if (value && ctx.needs(value)) {
      // The constant fills every output position that no input element lands on.
      const all = ctx.emit('ReduceSum', [g], { keepdims: { i: 0 } });
      const inner = ctx.emit('ReduceSum', [d], { keepdims: { i: 0 } });
      ctx.addGrad(value, ctx.reshapeTo(ctx.emit('Sub', [all, inner]), ctx.shape(value)));
    }
    return;
  }
  if (mode !== 'reflect' && mode !== 'edge') throw new FvizError(`Pad node '${node.name}': mode '${mode}' has no gradient rule`);
  if (pads.some((p) => p < 0)) throw new FvizError(`Pad node '${node.name}': negative pads with mode '${mode}' have no gradient rule`);
  let d = g;
  for (let a = 0; a < r; a++) if (pads[a]! > 0 || pads[a + r]! > 0) d = foldAxis(ctx, d, a, xs[a]!, pads[a]!, pads[a + r]!, mode);
  ctx.addGrad(x, d);
};
