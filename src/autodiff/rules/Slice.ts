// The adjoint of Slice scatters g back into zeros shaped like x. Per axis the slice reads positions
// start, start + step, ... (count of them). A negative step is the same set read in reverse, so g is
// flipped first; a step s > 1 is undone by interleaving s - 1 zeros after each element (unsqueeze, pad,
// reshape, trim); a final Pad adds the zeros before the first and after the last position.
import type { GradContext, GradRule } from '../context.ts';
import type { Node } from '../../onnx/ir.ts';
import { FvizError } from '../../errors.ts';
import { toNumbers } from '../../onnx/tensor.ts';
import { sliceRange } from '../../onnx/shapes.ts';

export interface SliceAxis {
  axis: number;
  /** First position read (after clamping), the step, and how many positions are read. */
  start: number;
  step: number;
  count: number;
}

function constInts(ctx: GradContext, node: Node, k: number, what: string): number[] | undefined {
  const name = node.inputs[k];
  if (!name) return undefined;
  const c = ctx.constValue(name);
  if (!c) throw new FvizError(`Slice node '${node.name}': ${what} must be constant to differentiate`);
  return toNumbers(c);
}

/** The slice's reads per axis, normalized as the ONNX spec does (negative indices, clamping). */
export function sliceAxes(node: Node, ctx: GradContext): SliceAxis[] {
  const shape = ctx.shape(node.inputs[0]!);
  const r = shape.length;
  const starts = constInts(ctx, node, 1, 'starts')!;
  const ends = constInts(ctx, node, 2, 'ends')!;
  const axes = constInts(ctx, node, 3, 'axes') ?? starts.map((_, i) => i);
  const steps = constInts(ctx, node, 4, 'steps') ?? starts.map(() => 1);
  return axes.map((a, i) => {
    const axis = a < 0 ? a + r : a;
    const step = steps[i]!;
    const [start, , count] = sliceRange(starts[i]!, ends[i]!, step, shape[axis]!);
    return { axis, start, step, count };
  });
}

export const Slice: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  const x = node.inputs[0]!;
  if (!g || !ctx.needs(x)) return;
  const shape = ctx.shape(x);
  const r = shape.length;
  const reads = sliceAxes(node, ctx);
  if (reads.some((s) => s.count === 0)) return; // empty slice: x's gradient is zero
  const before = new Array<number>(r).fill(0);
  const after = new Array<number>(r).fill(0);
  let h = g;
  for (const { axis, start, step, count } of reads) {
    const stride = Math.abs(step);
    // Lowest position read; from there positions go up by `stride`.
    const low = step > 0 ? start : start + (count - 1) * step;
    if (step < 0 && count > 1)
      h = ctx.emit('Slice', [h, ctx.ints([-1]), ctx.ints([-(2 ** 53)]), ctx.ints([axis]), ctx.ints([-1])]);
    if (stride > 1 && count > 1) h = interleaveZeros(ctx, h, axis, stride, count);
    const span = count === 1 ? 1 : (count - 1) * stride + 1;
    before[axis] = low;
    after[axis] = shape[axis]! - low - span;
  }
  if (before.some((p) => p !== 0) || after.some((p) => p !== 0))
    h = ctx.emit('Pad', [h, ctx.ints([...before, ...after])], { mode: { s: 'constant' } });
  ctx.addGrad(x, h);
};

/** [.., n, ..] -> [.., (n-1) s + 1, ..] with element k moved to k s and zeros between. */
function interleaveZeros(ctx: GradContext, h: string, axis: number, stride: number, count: number): string {
  const hs = ctx.shape(h);
  const u = ctx.emit('Unsqueeze', [h, ctx.ints([axis + 1])]);
  const pads = new Array<number>(2 * (hs.length + 1)).fill(0);
  pads[hs.length + 1 + axis + 1] = stride - 1;
  const padded = ctx.emit('Pad', [u, ctx.ints(pads)], { mode: { s: 'constant' } });
  const flat = ctx.reshapeTo(padded, hs.map((d, i) => (i === axis ? count * stride : d)));
  return ctx.emit('Slice', [flat, ctx.ints([0]), ctx.ints([(count - 1) * stride + 1]), ctx.ints([axis])]);
}
