// A faster weight gradient for stride-1, ungrouped 2-D convolutions, used when compiling training steps.
// The general rule computes dW as one Conv whose kernel is the whole upstream gradient; onnxruntime runs
// that as C skinny GEMMs (matrix-vector products for 1x1 layers). Here the input is unfolded into patches
// (a Conv with an identity kernel; a plain reshape for 1x1) and dW = sum_n dY_n . patches_n^T is one batched
// MatMul plus a sum over the batch: measured 1.5-2x faster for 3x3 and 5-10x for 1x1 layers at batch 64.
import type { GradContext, GradRule } from '../autodiff/context.ts';
import { rules } from '../autodiff/rules/index.ts';
import { convBiasGrad, convInputGrad } from '../autodiff/rules/convAdjoint.ts';
import { windowOf } from '../autodiff/rules/spatial.ts';
import { getInt } from '../onnx/ir.ts';
import { tensor } from '../onnx/tensor.ts';

/** dW [M, C, kh, kw] of a stride-1, dilation-1, group-1 Conv(X [N, C, H, W]) given dY [N, M, Ho, Wo]. */
export function unfoldWeightGrad(ctx: GradContext, x: string, gy: string, kernel: [number, number], padsBegin: number[], padsEnd: number[]): string {
  const [N, C, H, W] = ctx.shape(x) as [number, number, number, number];
  const [, M, Ho, Wo] = ctx.shape(gy) as [number, number, number, number];
  const [kh, kw] = kernel;
  const K = kh * kw;
  const P = Ho * Wo;
  let patches: string;
  if (K === 1 && padsBegin.every((p) => p === 0) && padsEnd.every((p) => p === 0)) {
    patches = ctx.reshapeTo(x, [N, C, P]);
  } else {
    const eye = new Float32Array(K * K);
    for (let i = 0; i < K; i++) eye[i * K + i] = 1;
    const kernelT = ctx.constant(tensor(ctx.dtype(x), [K, 1, kh, kw], eye), 'unfold_eye');
    const planes = ctx.reshapeTo(x, [N * C, 1, H, W]);
    const unfolded = ctx.emit('Conv', [planes, kernelT], { kernel_shape: { ints: [kh, kw] }, pads: { ints: [...padsBegin, ...padsEnd] } });
    patches = ctx.reshapeTo(unfolded, [N, C * K, P]);
  }
  const g3 = ctx.reshapeTo(gy, [N, M, P]);
  let perImage: string;
  let transposedResult = false;
  // Transpose whichever operand is smaller.
  if (M <= C * K) {
    perImage = ctx.emit('MatMul', [patches, ctx.emit('Transpose', [g3], { perm: { ints: [0, 2, 1] } })]);
    transposedResult = true;
  } else {
    perImage = ctx.emit('MatMul', [g3, ctx.emit('Transpose', [patches], { perm: { ints: [0, 2, 1] } })]);
  }
  let summed = ctx.emit('ReduceSum', [perImage, ctx.ints([0])], { keepdims: { i: 0 } });
  if (transposedResult) summed = ctx.emit('Transpose', [summed], { perm: { ints: [1, 0] } });
  return ctx.reshapeTo(summed, [M, C, kh, kw]);
}

const generalConv = rules['Conv']!;

/** The Conv rule with the unfolded weight gradient where it applies, the general rule elsewhere. */
export const ConvForTraining: GradRule = (node, ctx) => {
  const [x, w, b] = node.inputs as [string, string, string | undefined];
  const xs = ctx.shape(x);
  const kernel = ctx.shape(w).slice(2);
  const win = windowOf(node, xs.slice(2), kernel);
  const simple =
    xs.length === 4 && getInt(node, 'group', 1) === 1 && win.strides.every((s) => s === 1) && win.dilations.every((d) => d === 1) && ctx.constValue(w) === undefined;
  if (!simple) return generalConv(node, ctx);
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  if (ctx.needs(x)) ctx.addGrad(x, convInputGrad(ctx, g, w, win, 1, xs));
  if (ctx.needs(w)) ctx.addGrad(w, unfoldWeightGrad(ctx, x, g, kernel as [number, number], win.padsBegin, win.padsEnd));
  if (b && ctx.needs(b)) ctx.addGrad(b, convBiasGrad(ctx, g));
};

/** Run `f` (synchronous: a compile) with the training Conv rule installed. */
export function withTrainingRules<T>(f: () => T): T {
  const saved = rules['Conv'];
  rules['Conv'] = ConvForTraining;
  try {
    return f();
  } finally {
    rules['Conv'] = saved!;
  }
}
