import type { GradRule } from '../context.ts';
import { FvizError } from '../../errors.ts';
import { getFloat, getInt } from '../../onnx/ir.ts';
import { tensor, toFloat64 } from '../../onnx/tensor.ts';
import { range } from './spatial.ts';

/**
 * Inference-mode y = scale * (x - mean) / sqrt(var + eps) + B, per channel (axis 1). With scale and var
 * constant, dx is a single Mul by a per-channel factor computed at compile time.
 */
export const BatchNormalization: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  if (getInt(node, 'training_mode', 0) !== 0)
    throw new FvizError(`BatchNormalization node '${node.name}': training_mode=1 has no gradient rule; export the model in eval mode`);
  const [x, scale, bias, mean, variance] = node.inputs as [string, string, string, string, string];
  const eps = getFloat(node, 'epsilon', 1e-5);
  const xs = ctx.shape(x);
  const C = xs[1]!;
  const perChannel = [C, ...xs.slice(2).map(() => 1)];
  const sumAxes = ctx.ints([0, ...range(xs.length - 2, 2)]);
  const reduce = (v: string) => ctx.emit('ReduceSum', [v, sumAxes], { keepdims: { i: 0 } });
  const sc = ctx.constValue(scale);
  const vc = ctx.constValue(variance);
  // rstd = 1/sqrt(var + eps), k = scale * rstd, both shaped [C].
  let rstd: string;
  let k: string;
  if (vc) {
    const r = toFloat64(vc).map((v) => 1 / Math.sqrt(v + eps));
    rstd = ctx.constant(tensor(ctx.dtype(x), [C], r), 'bn_rstd');
    k = sc ? ctx.constant(tensor(ctx.dtype(x), [C], toFloat64(sc).map((s, i) => s * r[i]!)), 'bn_k') : ctx.emit('Mul', [scale, rstd]);
  } else {
    rstd = ctx.emit('Reciprocal', [ctx.emit('Sqrt', [ctx.emit('Add', [variance, ctx.scalar(eps, x)])])]);
    k = ctx.emit('Mul', [scale, rstd]);
  }
  const asChannels = (v: string) => ctx.reshapeTo(v, perChannel);
  if (ctx.needs(x)) ctx.addGrad(x, ctx.emit('Mul', [g, asChannels(k)]));
  if (ctx.needs(bias)) ctx.addGrad(bias, reduce(g));
  const centered = () => ctx.emit('Sub', [x, asChannels(mean)]);
  if (ctx.needs(scale)) ctx.addGrad(scale, ctx.emit('Mul', [reduce(ctx.emit('Mul', [g, centered()])), rstd]));
  if (ctx.needs(mean)) ctx.addGrad(mean, ctx.emit('Neg', [ctx.emit('Mul', [reduce(g), k])]));
  if (ctx.needs(variance)) {
    // d/dvar of k (x - mean) = -k/2 (x - mean) / (var + eps)
    const half = ctx.emit('Mul', [ctx.emit('Mul', [k, ctx.emit('Mul', [rstd, rstd])]), ctx.scalar(-0.5, x)]);
    ctx.addGrad(variance, ctx.emit('Mul', [reduce(ctx.emit('Mul', [g, centered()])), half]));
  }
};
