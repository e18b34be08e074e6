// The adjoints of a convolution, shared by Conv, ConvTranspose and AveragePool:
//  - with respect to the input: a ConvTranspose with the same weights, or (stride 1, measured ~1.6x
//    faster on onnxruntime CPU for 3x3 192->192 at 28x28) a Conv with the weights flipped spatially and
//    their in/out channels swapped;
//  - with respect to the weights: a Conv of the input (batch and channel axes swapped) with the upstream
//    gradient as the kernel, stride and dilation exchanged, cropped to the kernel size.
import type { TensorData } from '../../onnx/ir.ts';
import { sizeOf } from '../../onnx/ir.ts';
import type { GradContext } from '../context.ts';
import { arrayCtor } from '../../onnx/tensor.ts';
import { range, type Window } from './spatial.ts';

const NEG_INF_INDEX = -(2 ** 53 - 1);

/** Transpose, or a Reshape when the permutation keeps the order of every axis longer than 1 (no data moves). */
export function permute(ctx: GradContext, v: string, perm: number[]): string {
  const shape = ctx.shape(v);
  const moved = perm.filter((p) => shape[p]! !== 1);
  const kept = range(shape.length).filter((p) => shape[p]! !== 1);
  if (moved.every((p, i) => p === kept[i])) return ctx.reshapeTo(v, perm.map((p) => shape[p]!));
  return ctx.emit('Transpose', [v], { perm: { ints: perm } });
}

/** Slice `v` to [0, len) on each spatial axis (2...) where it is longer. */
export function cropSpatial(ctx: GradContext, v: string, lens: number[]): string {
  const shape = ctx.shape(v);
  const axes = lens.map((_, i) => i + 2).filter((a) => shape[a]! > lens[a - 2]!);
  if (axes.length === 0) return v;
  return ctx.emit('Slice', [v, ctx.ints(axes.map(() => 0)), ctx.ints(axes.map((a) => lens[a - 2]!)), ctx.ints(axes)]);
}

/** Weights [M, C/G, k...] of a Conv as the weights [C, M/G, k...] of the stride-1 Conv computing its input gradient. */
export function flipTransposeWeights(w: TensorData, group: number): TensorData {
  const [M, Cg, ...k] = w.dims as [number, number, ...number[]];
  const K = sizeOf(k);
  const Mg = M / group;
  const src = w.data as Float32Array;
  const dst = new (arrayCtor(w.dtype))(src.length) as Float32Array;
  for (let m = 0; m < M; m++) {
    const gi = Math.floor(m / Mg);
    const mg = m % Mg;
    for (let c = 0; c < Cg; c++) {
      const from = (m * Cg + c) * K;
      const to = ((gi * Cg + c) * Mg + mg) * K;
      // Flipping every spatial axis of a row-major block reverses its flat order.
      for (let s = 0; s < K; s++) dst[to + K - 1 - s] = src[from + s]!;
    }
  }
  return { dtype: w.dtype, dims: [Cg * group, Mg, ...k], data: dst };
}

/** The same transformation as `flipTransposeWeights`, emitted in the graph (weights that are inputs). */
function flipTransposeInGraph(ctx: GradContext, w: string, group: number): string {
  const [M, Cg, ...k] = ctx.shape(w) as [number, number, ...number[]];
  const sp = k.length;
  let t: string;
  if (group === 1) t = permute(ctx, w, [1, 0, ...range(sp, 2)]);
  else {
    const r = ctx.reshapeTo(w, [group, M / group, Cg, ...k]);
    t = ctx.reshapeTo(permute(ctx, r, [0, 2, 1, ...range(sp, 3)]), [Cg * group, M / group, ...k]);
  }
  const axes = range(sp, 2);
  return ctx.emit('Slice', [t, ctx.ints(axes.map(() => -1)), ctx.ints(axes.map(() => NEG_INF_INDEX)), ctx.ints(axes), ctx.ints(axes.map(() => -1))]);
}

/**
 * d input of Y = Conv(X, W) given dY [N, M, O...]; `xShape` is X's shape [N, C, in...]. The window's
 * padsBegin says where output position 0 starts; the output extent comes from dY's shape.
 */
export function convInputGrad(ctx: GradContext, gy: string, w: string, win: Window, group: number, xShape: number[]): string {
  const inSp = xShape.slice(2);
  const outSp = ctx.shape(gy).slice(2);
  const extent = win.kernel.map((k, i) => (k - 1) * win.dilations[i]!);
  if (win.strides.every((s) => s === 1)) {
    const begin = extent.map((e, i) => e - win.padsBegin[i]!);
    const end = inSp.map((n, i) => n - outSp[i]! + win.padsBegin[i]!);
    if ([...begin, ...end].every((p) => p >= 0)) {
      const wc = ctx.constValue(w);
      const flipped = wc ? ctx.constant(flipTransposeWeights(wc, group), `${w}_flipT`) : flipTransposeInGraph(ctx, w, group);
      return ctx.emit('Conv', [gy, flipped], {
        kernel_shape: { ints: win.kernel },
        dilations: { ints: win.dilations },
        group: { i: group },
        pads: { ints: [...begin, ...end] },
      });
    }
  }
  return convTransposeToShape(ctx, gy, w, win, group, inSp);
}

/** ConvTranspose(gy, w) cropped or extended (output_padding) to exactly `outSp`, output position 0 at -padsBegin. */
export function convTransposeToShape(ctx: GradContext, gy: string, w: string, win: Window, group: number, outSp: number[]): string {
  const gSp = ctx.shape(gy).slice(2);
  const end: number[] = [];
  const outPad: number[] = [];
  gSp.forEach((o, i) => {
    const full = win.strides[i]! * (o - 1) + (win.kernel[i]! - 1) * win.dilations[i]! + 1;
    const e = full - win.padsBegin[i]! - outSp[i]!;
    end.push(Math.max(e, 0));
    outPad.push(Math.max(-e, 0));
  });
  const attrs: Record<string, { ints?: number[]; i?: number }> = {
    kernel_shape: { ints: win.kernel },
    strides: { ints: win.strides },
    dilations: { ints: win.dilations },
    group: { i: group },
    pads: { ints: [...win.padsBegin, ...end] },
  };
  if (outPad.some((p) => p > 0)) attrs['output_padding'] = { ints: outPad };
  return ctx.emit('ConvTranspose', [gy, w], attrs);
}

/**
 * d weights [M, C/G, k...] of Y = Conv(X, W) given X [N, C, in...] and dY [N, M, O...]:
 * dW[m, c, j] = sum_{n, o} dY[n, m, o] * Xpadded[n, c, o * stride + j * dilation].
 */
export function convWeightGrad(ctx: GradContext, x: string, gy: string, win: Window, group: number): string {
  const xs = ctx.shape(x);
  const gs = ctx.shape(gy);
  const [N, C] = xs as [number, number];
  const M = gs[1]!;
  const sp = xs.length - 2;
  const Cg = C / group;
  const Mg = M / group;
  const spAxes = (from: number) => range(sp, from);
  // Input as a batch of C/G images whose channels are (group, n).
  let xT: string;
  if (group === 1) xT = permute(ctx, x, [1, 0, ...spAxes(2)]);
  else {
    const r = ctx.reshapeTo(x, [N, group, Cg, ...xs.slice(2)]);
    xT = ctx.reshapeTo(permute(ctx, r, [2, 1, 0, ...spAxes(3)]), [Cg, group * N, ...xs.slice(2)]);
  }
  // Upstream gradient as M kernels over (n) per group.
  let gT: string;
  if (group === 1) gT = permute(ctx, gy, [1, 0, ...spAxes(2)]);
  else {
    const r = ctx.reshapeTo(gy, [N, group, Mg, ...gs.slice(2)]);
    gT = ctx.reshapeTo(permute(ctx, r, [1, 2, 0, ...spAxes(3)]), [M, N, ...gs.slice(2)]);
  }
  const inSp = xs.slice(2);
  const outSp = gs.slice(2);
  const end = inSp.map((n, i) =>
    Math.max(0, (outSp[i]! - 1) * win.strides[i]! + (win.kernel[i]! - 1) * win.dilations[i]! - win.padsBegin[i]! - (n - 1)),
  );
  const corr = ctx.emit('Conv', [xT, gT], {
    kernel_shape: { ints: outSp },
    strides: { ints: win.dilations },
    dilations: { ints: win.strides },
    group: { i: group },
    pads: { ints: [...win.padsBegin, ...end] },
  });
  const cropped = cropSpatial(ctx, corr, win.kernel);
  return permute(ctx, cropped, [1, 0, ...spAxes(2)]);
}

/**
 * The same weight gradient as explicit batched matrix products, one per kernel offset j:
 *   dW[:, :, j] = dY [M, N*O] x Xshift_j^T [N*O, C],  Xshift_j[n, c, o] = Xpadded[n, c, o * stride + j * dilation],
 * with the K shifted (strided) copies of X stacked for one broadcast MatMul. The products have good shapes
 * (C x N*O times N*O x M) where the convolution form contracts into only k*k output columns.
 */
export function convWeightGradGemm(ctx: GradContext, x: string, gy: string, win: Window, group: number): string {
  const xs = ctx.shape(x);
  const gs = ctx.shape(gy);
  const [N, C] = xs as [number, number];
  const M = gs[1]!;
  const sp = xs.length - 2;
  const [G, Cg, Mg] = [group, C / group, M / group];
  const inSp = xs.slice(2);
  const outSp = gs.slice(2);
  const rows = N * sizeOf(outSp);
  // X padded so that every offset's strided slice fits, as [G, Cg, N, spatial...].
  const end = inSp.map((n, i) =>
    Math.max(0, (win.kernel[i]! - 1) * win.dilations[i]! + (outSp[i]! - 1) * win.strides[i]! + 1 - win.padsBegin[i]! - n),
  );
  let xp = x;
  if ([...win.padsBegin, ...end].some((p) => p > 0))
    xp = ctx.emit('Pad', [x, ctx.ints([0, 0, ...win.padsBegin, 0, 0, ...end])]);
  const xpShape = ctx.shape(xp);
  const xT = permute(ctx, ctx.reshapeTo(xp, [N, G, Cg, ...xpShape.slice(2)]), [1, 2, 0, ...range(sp, 3)]);
  // dY as [G, N*O, Mg].
  const g2 = ctx.reshapeTo(permute(ctx, ctx.reshapeTo(gy, [N, G, Mg, ...outSp]), [1, 0, ...range(sp, 3), 2]), [G, rows, Mg]);
  const K = sizeOf(win.kernel);
  const axes = range(sp, 3);
  const slices: string[] = [];
  for (let j = 0; j < K; j++) {
    const offset: number[] = [];
    let r = j;
    for (let i = sp - 1; i >= 0; i--) {
      offset[i] = r % win.kernel[i]!;
      r = Math.floor(r / win.kernel[i]!);
    }
    const starts = offset.map((o, i) => o * win.dilations[i]!);
    const ends = starts.map((s, i) => s + (outSp[i]! - 1) * win.strides[i]! + 1);
    const sl = ctx.emit('Slice', [xT, ctx.ints(starts), ctx.ints(ends), ctx.ints(axes), ctx.ints(win.strides)]);
    slices.push(ctx.reshapeTo(sl, [G, Cg, rows]));
  }
  const stacked = ctx.reshapeTo(slices.length === 1 ? slices[0]! : ctx.emit('Concat', slices, { axis: { i: 0 } }), [K, G, Cg, rows]);
  const prod = ctx.emit('MatMul', [stacked, g2]); // [K, G, Cg, Mg]
  return ctx.reshapeTo(permute(ctx, prod, [1, 3, 2, 0]), [M, Cg, ...win.kernel]);
}

/**
 * d weights of a convolution, in whichever form runs faster on onnxruntime CPU. Measured (2 threads, fwd
 * + dW, 3x3 kernels): the matrix-product form is 1.4-3.4x faster with 16+ input and output channels per
 * group (e.g. N64 128->128 at 8x8: 103 vs 30 GFLOP/s; N1 64->192 at 56x56: 44 vs 29), the convolution
 * form up to 2x faster for few channels (RGB inputs), large kernels (7x7) or few output positions.
 */
export function convWeightGradient(ctx: GradContext, x: string, gy: string, win: Window, group: number): string {
  const C = ctx.shape(x)[1]!;
  const M = ctx.shape(gy)[1]!;
  const positions = sizeOf(ctx.shape(gy).slice(2));
  const gemm = C / group >= 16 && M / group >= 16 && sizeOf(win.kernel) <= 9 && positions >= 16;
  return (gemm ? convWeightGradGemm : convWeightGrad)(ctx, x, gy, win, group);
}

/** d bias [M] of a convolution: dY summed over batch and positions. */
export function convBiasGrad(ctx: GradContext, gy: string): string {
  const r = ctx.rank(gy);
  return ctx.emit('ReduceSum', [gy, ctx.ints([0, ...range(r - 2, 2)])], { keepdims: { i: 0 } });
}
