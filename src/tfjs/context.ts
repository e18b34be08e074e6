// State of one tfjs -> ONNX conversion. Every value carries its tfjs (channels-last) shape; a rank-4 value
// is held in ONNX as NCHW (the layout fviz's objectives and ONNX's Conv read), every other rank in tfjs'
// own order. Layers that need tfjs' order of a rank-4 value (Flatten, Reshape) transpose it back first.
import { FvizError } from '../errors.ts';
import { GraphBuilder } from '../onnx/builder.ts';
import type { AttrValue, Graph, TensorData } from '../onnx/ir.ts';

/** A converted tensor: its ONNX name and its tfjs shape (batch as -1). */
export interface Value {
  name: string;
  shape: number[];
}

/** The tfjs layer being converted, as converters see it. */
export interface LayerInfo {
  className: string;
  /** The layer's name with the names of enclosing nested models (`outer/inner/conv2d_1`). */
  name: string;
  config: Record<string, unknown>;
  /** Weights by their short name (kernel, bias, gamma, depthwise_kernel, ...). */
  weights: Map<string, TensorData>;
  /** tfjs' shapes of the outputs of this call (batch as -1). */
  outShapes: number[][];
}

export const NHWC_TO_NCHW = [0, 3, 1, 2];
export const NCHW_TO_NHWC = [0, 2, 3, 1];

/** ONNX axis of tfjs axis `axis` of a rank-`rank` value. */
export function onnxAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 4 ? [0, 2, 3, 1][a]! : a;
}

/** The ONNX shape of a value with tfjs shape `shape`. */
export function onnxShape(shape: number[]): number[] {
  return shape.length === 4 ? NHWC_TO_NCHW.map((i) => shape[i]!) : [...shape];
}

export class TfjsContext {
  readonly b: GraphBuilder;
  constructor(
    graph: Graph,
    readonly source: string,
  ) {
    this.b = new GraphBuilder(graph);
  }

  fail(layer: LayerInfo, msg: string): never {
    throw new FvizError(`${this.source}: layer '${layer.name}' (${layer.className}): ${msg}`, { subject: layer.name });
  }

  /** A node with a readable output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue>, outName: string): string {
    const out = this.b.fresh(outName);
    this.b.node(opType, inputs, attrs, [out], outName);
    return out;
  }

  constant(t: TensorData, base: string): string {
    return this.b.constant(t, base);
  }

  floats(base: string, dims: number[], values: ArrayLike<number>): string {
    return this.constant({ dtype: 'float32', dims, data: Float32Array.from(values) }, base);
  }

  int64s(base: string, values: number[]): string {
    return this.constant({ dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) }, base);
  }

  /** The value in tfjs' own order (a Transpose back to NHWC for rank 4). */
  tfjsOrder(v: Value, base: string): string {
    return v.shape.length === 4 ? this.op('Transpose', [v.name], { perm: { ints: NCHW_TO_NHWC } }, `${base}/nhwc`) : v.name;
  }

  /** A tensor in tfjs' order made a value (transposed to NCHW when rank 4). */
  fromTfjsOrder(name: string, shape: number[], base: string): Value {
    if (shape.length !== 4) return { name, shape };
    return { name: this.op('Transpose', [name], { perm: { ints: NHWC_TO_NCHW } }, base), shape };
  }

  weight(layer: LayerInfo, key: string): TensorData {
    const w = layer.weights.get(key);
    if (!w) this.fail(layer, `has no '${key}' weight (weights: ${[...layer.weights.keys()].join(', ') || 'none'})`);
    return w;
  }
}

/** Permute a dense float32 tensor. */
export function permute(t: TensorData, perm: number[]): TensorData {
  const dims = t.dims;
  const outDims = perm.map((p) => dims[p]!);
  const src = t.data as Float32Array;
  const out = new Float32Array(src.length);
  const rank = dims.length;
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let i = rank - 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= dims[i]!;
  }
  const strides = perm.map((p) => inStrides[p]!);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let off = 0;
    for (let i = 0; i < rank; i++) off += idx[i]! * strides[i]!;
    out[o] = src[off]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i]! < outDims[i]!) break;
      idx[i] = 0;
    }
  }
  return { dtype: 'float32', dims: outDims, data: out };
}
