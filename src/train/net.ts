// Building a convolutional network twice from one description: as a training graph (batch normalization
// from primitives, batch statistics as extra outputs, weights as initializers to differentiate) and as the
// inference graph (batch normalization folded into the convolutions, running statistics).
import { FvizError } from '../errors.ts';
import { GraphBuilder } from '../onnx/builder.ts';
import type { Dim, Graph, Model, TensorData } from '../onnx/ir.ts';
import { emptyGraph, emptyModel } from '../onnx/ir.ts';
import { inferShapes } from '../onnx/shapes.ts';
import { tensor } from '../onnx/tensor.ts';
import { Rng } from '../util/rng.ts';

export type ParamRole = 'conv' | 'fc' | 'bias' | 'bn_scale' | 'bn_shift';

export interface ParamInfo {
  name: string;
  role: ParamRole;
  dims: number[];
}

/** A batch-normalized layer: its parameters and, in training graphs, the outputs holding the batch statistics. */
export interface BnInfo {
  layer: string;
  channels: number;
  gamma: string;
  beta: string;
  /** Training graph outputs: batch mean and (biased) variance, [1, C, 1, 1]. */
  meanOut: string;
  varOut: string;
  /** Elements per channel the statistics average over (N x H x W). */
  count: number;
}

export interface RunningStats {
  mean: Float32Array;
  var: Float32Array;
}

export type NetMode =
  | { kind: 'train' }
  | { kind: 'infer'; params: Map<string, Float32Array>; stats: Map<string, RunningStats> };

export const BN_EPS = 1e-5;

/** Per-value shape [C, H, W] or [F] (without the batch axis). */
type Shape = number[];

export class NetBuilder {
  readonly graph: Graph;
  readonly b: GraphBuilder;
  readonly mode: NetMode;
  readonly batch: Dim;
  readonly params: ParamInfo[] = [];
  readonly bns: BnInfo[] = [];
  private readonly shapes = new Map<string, Shape>();

  constructor(mode: NetMode, batch: Dim, input: { name: string; channels: number; height: number; width: number }) {
    this.mode = mode;
    this.batch = batch;
    this.graph = emptyGraph('net');
    this.b = new GraphBuilder(this.graph);
    this.graph.inputs.push({ name: input.name, dtype: 'float32', shape: [batch, input.channels, input.height, input.width] });
    this.b.fresh(input.name);
    this.shapes.set(input.name, [input.channels, input.height, input.width]);
  }

  shape(v: string): Shape {
    const s = this.shapes.get(v);
    if (!s) throw new FvizError(`internal: no shape for '${v}'`);
    return s;
  }

  private param(name: string, role: ParamRole, dims: number[]): string {
    if (this.graph.initializers.has(name)) throw new FvizError(`internal: parameter '${name}' defined twice`);
    this.params.push({ name, role, dims });
    const data = new Float32Array(dims.reduce((a, d) => a * d, 1));
    this.graph.initializers.set(name, { dtype: 'float32', dims, data });
    this.b.fresh(name);
    return name;
  }

  private trained(name: string): Float32Array {
    if (this.mode.kind !== 'infer') throw new FvizError('internal: trained values only in inference mode');
    const v = this.mode.params.get(name);
    if (!v) throw new FvizError(`checkpoint has no parameter '${name}': it was trained with another architecture`);
    return v;
  }

  private constF(dims: number[], values: ArrayLike<number>, name: string): string {
    const t = tensor('float32', dims, values);
    this.graph.initializers.set(name, t);
    this.b.fresh(name);
    return name;
  }

  private ints(values: number[]): string {
    return this.b.constant(tensor('int64', [values.length], values), 'ints');
  }

  private set(v: string, s: Shape): string {
    this.shapes.set(v, s);
    return v;
  }

  /** Conv (no bias) + batch norm + ReLU; the ReLU output is named `name`, the normalized value `name/bn`. */
  convBnRelu(name: string, x: string, out: number, kernel: number, opts: { stride?: number; pad?: number } = {}): string {
    const [cin, h, w] = this.shape(x) as [number, number, number];
    const stride = opts.stride ?? 1;
    const pad = opts.pad ?? (kernel - 1) >> 1;
    const oh = Math.floor((h + 2 * pad - kernel) / stride) + 1;
    const ow = Math.floor((w + 2 * pad - kernel) / stride) + 1;
    const attrs = { kernel_shape: { ints: [kernel, kernel] }, strides: { ints: [stride, stride] }, pads: { ints: [pad, pad, pad, pad] } };
    const wName = `${name}/W`;
    let normed: string;
    if (this.mode.kind === 'train') {
      this.param(wName, 'conv', [out, cin, kernel, kernel]);
      const conv = this.b.node('Conv', [x, wName], attrs, [`${name}/conv`])[0]!;
      normed = this.batchNormTrain(name, conv, out, oh * ow);
    } else {
      // y = gamma (conv - mean) / sqrt(var + eps) + beta, folded into the convolution's weights and bias.
      const W = this.trained(wName);
      const gamma = this.trained(`${name}/gamma`);
      const beta = this.trained(`${name}/beta`);
      const st = this.mode.stats.get(name);
      if (!st) throw new FvizError(`checkpoint has no running statistics for '${name}'`);
      const per = cin * kernel * kernel;
      const fw = new Float32Array(W.length);
      const fb = new Float32Array(out);
      for (let o = 0; o < out; o++) {
        const s = gamma[o]! / Math.sqrt(st.var[o]! + BN_EPS);
        for (let k = 0; k < per; k++) fw[o * per + k] = W[o * per + k]! * s;
        fb[o] = beta[o]! - st.mean[o]! * s;
      }
      const cw = this.constF([out, cin, kernel, kernel], fw, wName);
      const cb = this.constF([out], fb, `${name}/b`);
      normed = this.b.node('Conv', [x, cw, cb], attrs, [`${name}/bn`])[0]!;
    }
    this.set(normed, [out, oh, ow]);
    const y = this.b.node('Relu', [normed], {}, [name])[0]!;
    return this.set(y, [out, oh, ow]);
  }

  /** Batch normalization over (N, H, W) from primitives; the batch statistics become extra outputs. */
  private batchNormTrain(layer: string, x: string, channels: number, positions: number): string {
    const gamma = this.param(`${layer}/gamma`, 'bn_scale', [channels]);
    const beta = this.param(`${layer}/beta`, 'bn_shift', [channels]);
    (this.graph.initializers.get(gamma)!.data as Float32Array).fill(1);
    const axes = { axes: { ints: [0, 2, 3] }, keepdims: { i: 1 } };
    const b = this.b;
    const mean = b.node('ReduceMean', [x], axes, [`${layer}/batch_mean`])[0]!;
    const xc = b.op('Sub', [x, mean], {}, `${layer}/centered`);
    const sq = b.op('Mul', [xc, xc], {}, `${layer}/sq`);
    const variance = b.node('ReduceMean', [sq], axes, [`${layer}/batch_var`])[0]!;
    const std = b.op('Sqrt', [b.op('Add', [variance, b.constant(tensor('float32', [], [BN_EPS]), 'bn_eps')])], {}, `${layer}/std`);
    const shape4 = this.ints([1, channels, 1, 1]);
    const g4 = b.op('Reshape', [gamma, shape4], {}, `${layer}/gamma4`);
    const b4 = b.op('Reshape', [beta, shape4], {}, `${layer}/beta4`);
    const scale = b.op('Div', [g4, std], {}, `${layer}/scale`);
    const y = b.node('Add', [b.op('Mul', [xc, scale], {}, `${layer}/scaled`), b4], {}, [`${layer}/bn`])[0]!;
    const batch = typeof this.batch === 'number' ? this.batch : 0;
    this.bns.push({ layer, channels, gamma, beta, meanOut: mean, varOut: variance, count: batch * positions });
    return y;
  }

  maxPool(name: string, x: string, kernel: number, stride: number, pad: number): string {
    const [c, h, w] = this.shape(x) as [number, number, number];
    const y = this.b.node(
      'MaxPool',
      [x],
      { kernel_shape: { ints: [kernel, kernel] }, strides: { ints: [stride, stride] }, pads: { ints: [pad, pad, pad, pad] } },
      [name],
    )[0]!;
    return this.set(y, [c, Math.floor((h + 2 * pad - kernel) / stride) + 1, Math.floor((w + 2 * pad - kernel) / stride) + 1]);
  }

  concat(name: string, xs: string[]): string {
    const shapes = xs.map((x) => this.shape(x));
    const [, h, w] = shapes[0] as [number, number, number];
    const y = this.b.node('Concat', xs, { axis: { i: 1 } }, [name])[0]!;
    return this.set(y, [shapes.reduce((s, v) => s + v[0]!, 0), h, w]);
  }

  /** Global average pooling to N x C. */
  globalAvgPool(name: string, x: string): string {
    const [c] = this.shape(x) as [number];
    const p = this.b.op('GlobalAveragePool', [x], {}, `${name}/4d`);
    const y = this.b.node('Flatten', [p], { axis: { i: 1 } }, [name])[0]!;
    return this.set(y, [c]);
  }

  /** Fully connected layer (Gemm, weights [out, in]); with `relu`, `name` is the ReLU output and `name/pre` the affine one. */
  fc(name: string, x: string, out: number, relu: boolean): string {
    const [cin] = this.shape(x) as [number];
    const wName = `${name}/W`;
    const bName = `${name}/b`;
    if (this.mode.kind === 'train') {
      this.param(wName, 'fc', [out, cin]);
      this.param(bName, 'bias', [out]);
    } else {
      this.constF([out, cin], this.trained(wName), wName);
      this.constF([out], this.trained(bName), bName);
    }
    const affine = this.b.node('Gemm', [x, wName, bName], { transB: { i: 1 } }, [relu ? `${name}/pre` : name])[0]!;
    this.set(affine, [out]);
    if (!relu) return affine;
    return this.set(this.b.node('Relu', [affine], {}, [name])[0]!, [out]);
  }

  softmax(name: string, x: string): string {
    return this.set(this.b.node('Softmax', [x], { axis: { i: 1 } }, [name])[0]!, this.shape(x));
  }

  /** Finish: declare outputs, infer every value's type. */
  finish(outputs: string[]): Model {
    this.graph.outputs = outputs.map((o) => ({ name: o, dtype: 'float32', shape: [this.batch, ...this.shape(o)] }));
    inferShapes(this.graph);
    return emptyModel(this.graph);
  }
}

/** He-normal weights for convolutions and hidden layers, a smaller scale for the class layer, zero biases. */
export function initParams(params: ParamInfo[], seed: number, classLayerWeight?: string): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    const n = p.dims.reduce((a, d) => a * d, 1);
    const v = new Float32Array(n);
    if (p.role === 'conv' || p.role === 'fc') {
      const fanIn = n / p.dims[0]!;
      const gain = p.name === classLayerWeight ? 1 : 2;
      rng.fillNormal(v, Math.sqrt(gain / fanIn));
    } else if (p.role === 'bn_scale') v.fill(1);
    out.set(p.name, v);
  }
  return out;
}

export function asTensor(p: ParamInfo, values: Float32Array): TensorData {
  return { dtype: 'float32', dims: [...p.dims], data: values };
}
