// The registry of gradient rules: one module per op (or per family of ops sharing a rule).
import type { GradRule } from '../context.ts';
import { Add } from './Add.ts';
import { Celu, Shrink, ThresholdedRelu } from './Activations.ts';
import { Identity } from './Identity.ts';
import { Mul } from './Mul.ts';
import { ReduceMean } from './ReduceMean.ts';
import { ReduceSum } from './ReduceSum.ts';
import { Relu } from './Relu.ts';
import { Reshape } from './Reshape.ts';
import { Sub } from './Sub.ts';
import { Cast } from './Cast.ts';
import { Clip } from './Clip.ts';
import { Concat } from './Concat.ts';
import { DepthToSpace, TopK } from './DepthToSpace.ts';
import { Div } from './Div.ts';
import { Expand } from './Expand.ts';
import { Gather, GatherElements } from './Gather.ts';
import { MaxMin } from './MaxMin.ts';
import { Mean } from './Mean.ts';
import { Pow } from './Pow.ts';
import { PRelu } from './PRelu.ts';
import { ReduceExtreme, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare } from './Reduce.ts';
import { CumSum, GatherND, ScatterElements, ScatterND } from './Scatter.ts';
import { Slice } from './Slice.ts';
import { LogSoftmax, Softmax } from './Softmax.ts';
import { Split } from './Split.ts';
import { Tile } from './Tile.ts';
import { Transpose } from './Transpose.ts';
import * as unary from './Unary.ts';
import { Where } from './Where.ts';

// convolution, pooling, normalization, resampling
import { AveragePool } from './AveragePool.ts';
import { BatchNormalization } from './BatchNormalization.ts';
import { Conv } from './Conv.ts';
import { ConvTranspose } from './ConvTranspose.ts';
import { Einsum } from './Einsum.ts';
import { Gemm } from './Gemm.ts';
import { GlobalAveragePool, GlobalMaxPool } from './GlobalPool.ts';
import { InstanceNormalization } from './InstanceNormalization.ts';
import { LayerNormalization } from './LayerNormalization.ts';
import { LRN } from './LRN.ts';
import { MatMul } from './MatMul.ts';
import { MaxPool } from './MaxPool.ts';
import { Pad } from './Pad.ts';
import { Resize } from './Resize.ts';

export const rules: Record<string, GradRule> = {
  Add,
  Sub,
  Mul,
  Identity,
  Dropout: Identity,
  Relu,
  ReduceSum,
  ReduceMean,
  Reshape,
  Flatten: Reshape,
  Squeeze: Reshape,
  Unsqueeze: Reshape,
  // elementwise
  Sum: Add,
  Mean,
  Div,
  Pow,
  Max: MaxMin,
  Min: MaxMin,
  Clip,
  Where,
  Neg: unary.Neg,
  LeakyRelu: unary.LeakyRelu,
  Elu: unary.Elu,
  Selu: unary.Selu,
  Celu,
  Shrink,
  ThresholdedRelu,
  Sigmoid: unary.Sigmoid,
  HardSigmoid: unary.HardSigmoid,
  HardSwish: unary.HardSwish,
  PRelu,
  Tanh: unary.Tanh,
  Softplus: unary.Softplus,
  Softsign: unary.Softsign,
  Exp: unary.Exp,
  Log: unary.Log,
  Sqrt: unary.Sqrt,
  Abs: unary.Abs,
  Reciprocal: unary.Reciprocal,
  Erf: unary.Erf,
  Sin: unary.Sin,
  Cos: unary.Cos,
  Floor: unary.ZeroGradient,
  Ceil: unary.ZeroGradient,
  Round: unary.ZeroGradient,
  Sign: unary.ZeroGradient,
  Cast,
  CastLike: Cast,
  // shape and data movement
  Transpose,
  Concat,
  Split,
  Slice,
  Gather,
  GatherElements,
  GatherND,
  ScatterND,
  ScatterElements,
  CumSum,
  DepthToSpace,
  SpaceToDepth: DepthToSpace,
  TopK,
  Expand,
  Tile,
  // reductions and normalizers
  ReduceMax: ReduceExtreme,
  ReduceMin: ReduceExtreme,
  ReduceL1,
  ReduceL2,
  ReduceSumSquare,
  ReduceLogSum,
  ReduceLogSumExp,
  Softmax,
  LogSoftmax,
  // convolution, pooling, normalization, resampling
  Conv,
  ConvTranspose,
  Gemm,
  MatMul,
  Einsum,
  MaxPool,
  AveragePool,
  GlobalAveragePool,
  GlobalMaxPool,
  LRN,
  BatchNormalization,
  InstanceNormalization,
  LayerNormalization,
  Resize,
  Pad,
};

/** Ops the gradient compiler covers, sorted. */
export function supportedOps(): string[] {
  return Object.keys(rules).sort();
}

/**
 * The rules in force, as text (each op and its rule's source): part of a stored program's key, so a rule replaced
 * at run time (a test's deliberate bug, an extension) never meets programs compiled with another.
 */
export function rulesFingerprint(): string {
  return supportedOps()
    .map((op) => `${op}\n${rules[op]!.toString()}`)
    .join('\n\0');
}
