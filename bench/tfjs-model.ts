// A reference interpreter: runs a prepared IR graph (static shapes) in tfjs, so the bench can compare the
// project's compiled gradients on onnxruntime with tf.grad on tfjs' wasm backend doing the same work.
//
// Layout: tfjs' convolutions and pools want NHWC, ONNX is NCHW. Rank-4 activations produced by spatial ops
// stay NHWC (`nhwc: true`) and are transposed back only where an op needs ONNX's axis order (Reshape,
// Flatten, Transpose, ...): the conversion happens at the edges of the convolutional part, not per op.
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Model, Node, TensorData } from '../src/onnx/ir.ts';
import { defaultOpset, getFloat, getInt, getInts, getString, isStaticShape, sizeOf } from '../src/onnx/ir.ts';
import { toNumbers } from '../src/onnx/tensor.ts';
import { ancestorNodes } from '../src/bench/flops.ts';
import { resolveTerms, type ObjectiveNames, type ResolvedTerm } from '../src/optvis/objectives/build.ts';
import { parseObjective } from '../src/optvis/objectives/parse.ts';

interface Val {
  t: tf.Tensor;
  /** Rank-4 value stored as NHWC whose ONNX layout is NCHW. */
  nhwc: boolean;
}

const TO_NHWC = [0, 2, 3, 1];
const TO_NCHW = [0, 3, 1, 2];
type Explicit = [[number, number], [number, number], [number, number], [number, number]];

export class TfjsUnsupportedError extends Error {}

function unsupported(node: Node, why: string): never {
  throw new TfjsUnsupportedError(`tfjs reference: ${node.opType} node '${node.name}': ${why}`);
}

/** The objective as the tfjs side computes it: the same grammar and meaning as src/optvis/objectives. */
export interface TfjsObjective {
  text: string;
  names?: ObjectiveNames;
}

export interface ValueAndGrad {
  value: number;
  grad: Float32Array;
}

export class TfjsModel {
  readonly model: Model;
  private readonly g: Graph;
  private readonly opset: number;
  /** Float initializers as tfjs tensors, created once; keyed by name and the layout they were put in. */
  private readonly weights = new Map<string, tf.Tensor>();
  /** Node-constant helper tensors (pool count corrections), keyed by node name. */
  private readonly constants = new Map<string, tf.Tensor>();
  /** Where the translation is not one tfjs op per ONNX op: for the bench line. */
  readonly notes = new Set<string>(['NCHW<->NHWC transposes at the edges of spatial ops']);

  constructor(model: Model) {
    this.model = model;
    this.g = model.graph;
    this.opset = defaultOpset(model);
  }

  /** Runs the nodes `targets` need; returns them in ONNX layout. The caller disposes (or wraps in tf.tidy). */
  forward(feeds: Record<string, tf.Tensor>, targets: string[]): Record<string, tf.Tensor> {
    const vals = this.run(feeds, targets);
    const out: Record<string, tf.Tensor> = {};
    for (const t of targets) out[t] = this.toNchw(vals.get(t)!);
    return out;
  }

  /** Value of the objective (summed over the batch) and its gradient w.r.t. graph input `input`, by tf.grad. */
  valueAndGrad(feeds: Record<string, TensorData>, objective: TfjsObjective, input = this.g.inputs[0]!.name): ValueAndGrad {
    const terms = resolveTerms(this.model, parseObjective(objective.text), objective.names);
    const targets = [...new Set(terms.map((t) => t.tensor))];
    const fixed: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) if (k !== input) fixed[k] = tensorOf(v);
    const x = tensorOf(feeds[input]!);
    const f = (xx: tf.Tensor): tf.Scalar => {
      const vals = this.run({ ...fixed, [input]: xx }, targets);
      let total: tf.Tensor = tf.scalar(0);
      for (const term of terms) total = tf.add(total, tf.mul(termValue(vals.get(term.tensor)!, term), term.weight));
      return total as tf.Scalar;
    };
    const { value, grad } = tf.tidy(() => tf.valueAndGrad(f)(x));
    const result = { value: value.dataSync()[0]!, grad: grad.dataSync() as Float32Array };
    tf.dispose([value, grad, x, ...Object.values(fixed)]);
    return result;
  }

  dispose(): void {
    tf.dispose([...this.weights.values(), ...this.constants.values()]);
    this.weights.clear();
    this.constants.clear();
  }

  private run(feeds: Record<string, tf.Tensor>, targets: string[]): Map<string, Val> {
    const vals = new Map<string, Val>();
    for (const [k, v] of Object.entries(feeds)) vals.set(k, { t: v, nhwc: false });
    for (const node of ancestorNodes(this.g, targets)) {
      const outs = this.exec(node, vals);
      outs.forEach((v, k) => {
        const name = node.outputs[k];
        if (name) vals.set(name, v);
      });
    }
    for (const t of targets) if (!vals.has(t)) throw new TfjsUnsupportedError(`tfjs reference: nothing computes '${t}'`);
    return vals;
  }

  // ---- values and weights ----

  private input(vals: Map<string, Val>, name: string): Val {
    const v = vals.get(name);
    if (v) return v;
    const init = this.g.initializers.get(name);
    if (init) return { t: this.weight(name, 'onnx', () => tensorOf(init)), nhwc: false };
    throw new TfjsUnsupportedError(`tfjs reference: no value for '${name}'`);
  }

  /** An initializer converted once (layout `key`), or the live value converted every call. */
  private weightOr(vals: Map<string, Val>, name: string, key: string, convert: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    const init = this.g.initializers.get(name);
    if (init) return this.weight(name, key, () => tf.tidy(() => convert(tensorOf(init))));
    return convert(this.toNchw(this.input(vals, name)));
  }

  private weight(name: string, key: string, make: () => tf.Tensor): tf.Tensor {
    const k = `${name}|${key}`;
    let t = this.weights.get(k);
    if (!t) {
      t = tf.keep(make());
      this.weights.set(k, t);
    }
    return t;
  }

  private constValues(name: string): number[] {
    const init = this.g.initializers.get(name);
    if (!init) throw new TfjsUnsupportedError(`tfjs reference: '${name}' must be a constant (initializer)`);
    return toNumbers(init);
  }

  private toNchw(v: Val): tf.Tensor {
    return v.nhwc ? tf.transpose(v.t, TO_NCHW) : v.t;
  }

  private toNhwc(v: Val): tf.Tensor4D {
    if (v.nhwc) return v.t as tf.Tensor4D;
    if (v.t.rank !== 4) throw new TfjsUnsupportedError(`tfjs reference: expected a rank-4 NCHW tensor, got shape [${v.t.shape}]`);
    return tf.transpose(v.t, TO_NHWC) as tf.Tensor4D;
  }

  /** Static output shape of a value, from shape inference. */
  private shapeOf(name: string): number[] | undefined {
    const t = this.g.valueTypes.get(name);
    return t && isStaticShape(t.shape) ? t.shape : undefined;
  }

  // ---- ops ----

  private exec(node: Node, vals: Map<string, Val>): Val[] {
    const X = () => this.input(vals, node.inputs[0]!);
    switch (node.opType) {
      case 'Identity':
      case 'Dropout':
        return [X()];
      case 'Conv':
        return [{ t: this.conv(node, vals), nhwc: true }];
      case 'ConvTranspose':
        return [{ t: this.convTranspose(node, vals), nhwc: true }];
      case 'MaxPool':
      case 'AveragePool':
        if (node.outputs.length > 1 && node.outputs[1]) unsupported(node, 'the Indices output is not supported');
        return [{ t: this.pool(node, vals), nhwc: true }];
      case 'GlobalAveragePool':
        return [{ t: tf.mean(this.toNhwc(X()), [1, 2], true), nhwc: true }];
      case 'GlobalMaxPool':
        return [{ t: tf.max(this.toNhwc(X()), [1, 2], true), nhwc: true }];
      case 'LRN':
        return [{ t: this.lrn(node, vals), nhwc: true }];
      case 'BatchNormalization':
        return [this.batchNorm(node, vals)];
      case 'Relu':
        return [this.unary(X(), tf.relu)];
      case 'LeakyRelu':
        return [this.unary(X(), (t) => tf.leakyRelu(t, getFloat(node, 'alpha', 0.01)))];
      case 'Sigmoid':
        return [this.unary(X(), tf.sigmoid)];
      case 'Tanh':
        return [this.unary(X(), tf.tanh)];
      case 'Elu':
        if (getFloat(node, 'alpha', 1) !== 1) unsupported(node, 'alpha != 1');
        return [this.unary(X(), tf.elu)];
      case 'Exp':
        return [this.unary(X(), tf.exp)];
      case 'Log':
        return [this.unary(X(), tf.log)];
      case 'Sqrt':
        return [this.unary(X(), tf.sqrt)];
      case 'Abs':
        return [this.unary(X(), tf.abs)];
      case 'Neg':
        return [this.unary(X(), tf.neg)];
      case 'Clip':
        return [this.clip(node, vals)];
      case 'Add':
        return [this.binary(node, vals, tf.add)];
      case 'Sub':
        return [this.binary(node, vals, tf.sub)];
      case 'Mul':
        return [this.binary(node, vals, tf.mul)];
      case 'Div':
        return [this.binary(node, vals, tf.div)];
      case 'Sum': {
        let acc = this.input(vals, node.inputs[0]!);
        for (const name of node.inputs.slice(1)) acc = this.broadcast(acc, this.input(vals, name), tf.add);
        return [acc];
      }
      case 'Concat':
        return [this.concat(node, vals)];
      case 'Gemm':
        return [{ t: this.gemm(node, vals), nhwc: false }];
      case 'MatMul':
        return [{ t: tf.matMul(this.toNchw(X()), this.toNchw(this.input(vals, node.inputs[1]!))), nhwc: false }];
      case 'Flatten': {
        const x = this.toNchw(X());
        let axis = getInt(node, 'axis', 1);
        if (axis < 0) axis += x.rank;
        return [{ t: tf.reshape(x, [sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))]), nhwc: false }];
      }
      case 'Reshape':
        return [{ t: tf.reshape(this.toNchw(X()), this.reshapeTarget(node, X().t.shape)), nhwc: false }];
      case 'Squeeze':
      case 'Unsqueeze': {
        const shape = this.shapeOf(node.outputs[0]!);
        if (!shape) unsupported(node, 'needs a static output shape');
        return [{ t: tf.reshape(this.toNchw(X()), shape), nhwc: false }];
      }
      case 'Transpose': {
        const x = this.toNchw(X());
        const perm = getInts(node, 'perm') ?? [...x.shape.keys()].reverse();
        return [{ t: tf.transpose(x, perm), nhwc: false }];
      }
      case 'Softmax':
      case 'LogSoftmax':
        return [{ t: this.softmax(node, this.toNchw(X())), nhwc: false }];
      case 'Constant': {
        const value = node.attrs['value']?.t;
        if (!value) unsupported(node, 'only the tensor `value` form is supported');
        return [{ t: this.weight(node.outputs[0]!, 'onnx', () => tensorOf(value)), nhwc: false }];
      }
      default:
        unsupported(node, 'no tfjs translation');
    }
  }

  private unary(v: Val, fn: (t: tf.Tensor) => tf.Tensor): Val {
    return { t: fn(v.t), nhwc: v.nhwc };
  }

  /** Elementwise op with ONNX broadcasting; an NCHW operand meeting an NHWC one is moved to NHWC. */
  private broadcast(a: Val, b: Val, fn: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor): Val {
    if (a.nhwc === b.nhwc) return { t: fn(a.t, b.t), nhwc: a.nhwc };
    const asNhwc = (v: Val): tf.Tensor => {
      if (v.nhwc) return v.t;
      if (v.t.rank === 0) return v.t;
      const shape = [...Array<number>(4 - v.t.rank).fill(1), ...v.t.shape];
      return tf.transpose(tf.reshape(v.t, shape), TO_NHWC);
    };
    return { t: fn(asNhwc(a), asNhwc(b)), nhwc: true };
  }

  private binary(node: Node, vals: Map<string, Val>, fn: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor): Val {
    return this.broadcast(this.input(vals, node.inputs[0]!), this.input(vals, node.inputs[1]!), fn);
  }

  private clip(node: Node, vals: Map<string, Val>): Val {
    const x = this.input(vals, node.inputs[0]!);
    const bound = (k: number, dflt: number): number => {
      const name = node.inputs[k];
      if (name) return this.constValues(name)[0]!;
      return getFloat(node, k === 1 ? 'min' : 'max', dflt);
    };
    return this.unary(x, (t) => tf.clipByValue(t, bound(1, -3.4e38), bound(2, 3.4e38)));
  }

  private spatial(node: Node, rank: number) {
    const kernel = getInts(node, 'kernel_shape');
    const strides = getInts(node, 'strides', [1, 1]);
    const dil = getInts(node, 'dilations', [1, 1]);
    if (rank !== 4 || strides.length !== 2) unsupported(node, 'only 2-D spatial ops are supported');
    return { kernel, strides: strides as [number, number], dil: dil as [number, number] };
  }

  /** [top, bottom, left, right] for a Conv/pool, from pads or auto_pad (inH/inW: input extent). */
  private padsOf(node: Node, inHW: [number, number], kEff: [number, number], strides: [number, number]): [number, number, number, number] {
    const auto = getString(node, 'auto_pad', 'NOTSET');
    if (auto === 'NOTSET') {
      const p = getInts(node, 'pads', [0, 0, 0, 0]);
      return [p[0]!, p[2]!, p[1]!, p[3]!];
    }
    if (auto === 'VALID') return [0, 0, 0, 0];
    const total = (k: 0 | 1) => Math.max(0, (Math.ceil(inHW[k] / strides[k]) - 1) * strides[k] + kEff[k] - inHW[k]);
    const split = (k: 0 | 1): [number, number] => {
      const t = total(k);
      const small = Math.floor(t / 2);
      return auto === 'SAME_UPPER' ? [small, t - small] : [t - small, small];
    };
    const [t, b] = split(0);
    const [l, r] = split(1);
    return [t, b, l, r];
  }

  private conv(node: Node, vals: Map<string, Val>): tf.Tensor4D {
    const x = this.toNhwc(this.input(vals, node.inputs[0]!));
    const wName = node.inputs[1]!;
    const wShape = this.g.initializers.get(wName)?.dims ?? this.shapeOf(wName);
    if (!wShape || wShape.length !== 4) unsupported(node, 'only 2-D convolutions with a known weight shape are supported');
    const { strides, dil } = this.spatial(node, 4);
    const [, , kH, kW] = wShape as [number, number, number, number];
    const group = getInt(node, 'group', 1);
    const kEff: [number, number] = [(kH - 1) * dil[0] + 1, (kW - 1) * dil[1] + 1];
    const [pt, pb, pl, pr] = this.padsOf(node, [x.shape[1], x.shape[2]], kEff, strides);
    const pad: Explicit = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
    // tfjs' conv gradients reject dilations > 1: a dilated kernel becomes a zero-stuffed dense one.
    const dilated = dil[0] > 1 || dil[1] > 1;
    const init = this.g.initializers.get(wName);
    if (dilated) this.notes.add('dilated Conv as a zero-stuffed dense kernel (tfjs conv gradients reject dilations)');
    if (dilated && !init) unsupported(node, 'dilations need a constant weight (tfjs conv gradients have no dilations)');
    const onnxW = (): tf.Tensor => (dilated ? tensorOf(dilateKernel(init!, dil)) : tensorOf(init!));
    const cached = (key: string, convert: (t: tf.Tensor) => tf.Tensor): tf.Tensor =>
      init ? this.weight(wName, `${key}|${dil}`, () => tf.tidy(() => convert(onnxW()))) : convert(this.toNchw(this.input(vals, wName)));
    // Grouped (and depthwise) convolutions run as one conv2d per group: the wasm backend has no
    // DepthwiseConv2dNativeBackpropInput kernel, so tf.depthwiseConv2d could not be differentiated.
    const w = cached('hwio', (t) => tf.transpose(t, [2, 3, 1, 0])) as tf.Tensor4D;
    let y: tf.Tensor4D;
    if (group === 1) y = tf.conv2d(x, w, strides, pad, 'NHWC');
    else {
      this.notes.add('grouped Conv as one conv2d per group (wasm has no DepthwiseConv2dNativeBackpropInput)');
      const xs = tf.split<tf.Tensor4D>(x, group, 3);
      const ws = tf.split<tf.Tensor4D>(w, group, 3);
      y = tf.concat(
        xs.map((xg, k) => tf.conv2d(xg, ws[k]!, strides, pad, 'NHWC')),
        3,
      );
    }
    const bias = node.inputs[2];
    if (bias) y = tf.add(y, this.toNchw(this.input(vals, bias)));
    return y;
  }

  private convTranspose(node: Node, vals: Map<string, Val>): tf.Tensor4D {
    const x = this.toNhwc(this.input(vals, node.inputs[0]!));
    const wShape = this.g.initializers.get(node.inputs[1]!)?.dims ?? this.shapeOf(node.inputs[1]!);
    if (!wShape || wShape.length !== 4) unsupported(node, 'only 2-D transposed convolutions with a known weight shape are supported');
    const { strides, dil } = this.spatial(node, 4);
    if (dil[0] !== 1 || dil[1] !== 1) unsupported(node, 'tf.conv2dTranspose has no dilations');
    const out = this.shapeOf(node.outputs[0]!);
    if (!out) unsupported(node, 'needs the static output shape from shape inference');
    const [, , kH, kW] = wShape as [number, number, number, number];
    const group = getInt(node, 'group', 1);
    const [N, M, oH, oW] = out as [number, number, number, number];
    // Explicit pads reproduce ONNX's output size; derive them from the output shape so auto_pad,
    // output_padding and output_shape all come out right: total = s*(in-1) + k - out.
    const tot = (k: 0 | 1, inn: number, ker: number, o: number) => strides[k] * (inn - 1) + ker - o;
    const totH = tot(0, x.shape[1], kH, oH);
    const totW = tot(1, x.shape[2], kW, oW);
    const auto = getString(node, 'auto_pad', 'NOTSET');
    const pads = getInts(node, 'pads');
    let pt: number;
    let pl: number;
    if (auto === 'NOTSET' && pads) [pt, pl] = [pads[0]!, pads[1]!];
    else if (auto === 'SAME_UPPER') [pt, pl] = [Math.floor(totH / 2), Math.floor(totW / 2)];
    else [pt, pl] = [Math.ceil(totH / 2), Math.ceil(totW / 2)];
    // tfjs takes the bottom/right pad implicitly from the output shape only when consistent; compute it
    // as total - begin; a negative value (output_padding beyond the kernel's reach) means zero rows to add.
    let pb = totH - pt;
    let pr = totW - pl;
    const extraH = Math.max(0, -pb);
    const extraW = Math.max(0, -pr);
    pb = Math.max(0, pb);
    pr = Math.max(0, pr);
    const pad: Explicit = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
    const shape: [number, number, number, number] = [N, oH - extraH, oW - extraW, M / group];
    // ONNX W [C, M/g, kH, kW] -> tfjs filter [kH, kW, M/g, C]
    const w = this.weightOr(vals, node.inputs[1]!, 'transpose', (t) => tf.transpose(t, [2, 3, 1, 0])) as tf.Tensor4D;
    let y: tf.Tensor4D;
    if (group === 1) y = tf.conv2dTranspose(x, w, shape, strides, pad);
    else {
      const xs = tf.split<tf.Tensor4D>(x, group, 3);
      const ws = tf.split<tf.Tensor4D>(w, group, 3);
      y = tf.concat(
        xs.map((xg, k) => tf.conv2dTranspose(xg, ws[k]!, shape, strides, pad)),
        3,
      );
    }
    if (extraH || extraW) y = tf.pad(y, [[0, 0], [0, extraH], [0, extraW], [0, 0]]);
    const bias = node.inputs[2];
    if (bias) y = tf.add(y, this.toNchw(this.input(vals, bias)));
    return y;
  }

  /**
   * ONNX pools with explicit pads and ceil_mode as tf.pad + 'valid' pooling: the bottom/right pad is
   * stretched (or the input cropped) so that valid pooling yields exactly the output size shape inference
   * gave. Max pools pad with -Infinity; average pools pad with zeros and rescale by the true window count.
   */
  private pool(node: Node, vals: Map<string, Val>): tf.Tensor4D {
    let x = this.toNhwc(this.input(vals, node.inputs[0]!));
    const { kernel, strides, dil } = this.spatial(node, 4);
    if (!kernel) unsupported(node, 'kernel_shape is required');
    if (dil[0] !== 1 || dil[1] !== 1) unsupported(node, 'tfjs pools have no dilations');
    const [kH, kW] = kernel as [number, number];
    const [, H, W] = x.shape;
    const [pt, pb, pl, pr] = this.padsOf(node, [H, W], [kH, kW], strides);
    const out = this.shapeOf(node.outputs[0]!) ?? this.poolOutputShape(node, x.shape, [kH, kW], strides, [pt, pb, pl, pr]);
    const [oH, oW] = [out[2]!, out[3]!];
    const needH = (oH - 1) * strides[0] + kH;
    const needW = (oW - 1) * strides[1] + kW;
    const pbEff = needH - H - pt;
    const prEff = needW - W - pl;
    if (pbEff < 0 || prEff < 0) {
      x = tf.slice(x, [0, 0, 0, 0], [-1, H + Math.min(0, pbEff), W + Math.min(0, prEff), -1]);
    }
    const padH: [number, number] = [pt, Math.max(0, pbEff)];
    const padW: [number, number] = [pl, Math.max(0, prEff)];
    const padded = padH[0] + padH[1] + padW[0] + padW[1] > 0;
    if (padded) this.notes.add(`${node.opType} pads/ceil_mode as tf.pad(${node.opType === 'MaxPool' ? '-Infinity' : '0'}) + valid pooling`);
    if (node.opType === 'MaxPool') {
      if (padded) x = tf.pad(x, [[0, 0], padH, padW, [0, 0]], -Infinity);
      return tf.maxPool(x, [kH, kW], strides, 'valid');
    }
    if (padded) x = tf.pad(x, [[0, 0], padH, padW, [0, 0]]);
    let y = tf.avgPool(x, [kH, kW], strides, 'valid');
    const scale = this.avgPoolScale(node, [H, W], [oH, oW], [kH, kW], strides, [pt, pb, pl, pr]);
    if (scale) y = tf.mul(y, scale);
    return y;
  }

  private poolOutputShape(node: Node, xs: number[], k: [number, number], s: [number, number], p: [number, number, number, number]): number[] {
    const ceil = getInt(node, 'ceil_mode', 0) === 1;
    const dim = (inn: number, kk: number, ss: number, a: number, b: number) => {
      const span = inn + a + b - kk;
      let o = (ceil ? Math.ceil(span / ss) : Math.floor(span / ss)) + 1;
      // the last window must start inside the input or the begin pad
      if (ceil && (o - 1) * ss >= inn + a) o--;
      return o;
    };
    return [xs[0]!, xs[3]!, dim(xs[1]!, k[0], s[0], p[0], p[1]), dim(xs[2]!, k[1], s[1], p[2], p[3])];
  }

  /** kH*kW / (elements ONNX divides by) per output position, or undefined when it is 1 everywhere. */
  private avgPoolScale(node: Node, [H, W]: number[], [oH, oW]: number[], [kH, kW]: number[], s: [number, number], [pt, pb, pl, pr]: number[]): tf.Tensor | undefined {
    const cached = this.constants.get(node.name);
    if (cached) return cached;
    const includePad = getInt(node, 'count_include_pad', 0) === 1;
    // Window extent counted along one axis: real elements, or real + explicit pads (never the ceil overhang).
    const counts = (o: number, st: number, k: number, inn: number, a: number, b: number) => {
      const lo = includePad ? -a : 0;
      const hi = includePad ? inn + b : inn;
      return Array.from({ length: o }, (_, i) => {
        const start = i * st - a;
        return Math.max(0, Math.min(start + k, hi) - Math.max(start, lo));
      });
    };
    const ch = counts(oH!, s[0], kH!, H!, pt!, pb!);
    const cw = counts(oW!, s[1], kW!, W!, pl!, pr!);
    const data = new Float32Array(oH! * oW!);
    let trivial = true;
    for (let i = 0; i < oH!; i++)
      for (let j = 0; j < oW!; j++) {
        const v = (kH! * kW!) / (ch[i]! * cw[j]!);
        data[i * oW! + j] = v;
        if (v !== 1) trivial = false;
      }
    if (trivial) return undefined;
    this.notes.add('AveragePool window counts as a constant scale map');
    const t = tf.keep(tf.tensor4d(data, [1, oH!, oW!, 1]));
    this.constants.set(node.name, t);
    return t;
  }

  /**
   * ONNX LRN sums squares over channels [c - floor((size-1)/2), c + ceil((size-1)/2)] and scales alpha by
   * 1/size; tfjs sums over [c - r, c + r] with alpha unscaled: odd sizes map exactly (r = (size-1)/2,
   * alpha/size). onnxruntime itself rejects even sizes, so they are not translated either.
   */
  private lrn(node: Node, vals: Map<string, Val>): tf.Tensor4D {
    const x = this.toNhwc(this.input(vals, node.inputs[0]!));
    const size = getInt(node, 'size', 1);
    if (size % 2 !== 1) unsupported(node, `even size ${size} (onnxruntime rejects it too)`);
    this.notes.add('LRN as tf.localResponseNormalization(radius (size-1)/2, alpha/size)');
    const alpha = getFloat(node, 'alpha', 1e-4);
    const beta = getFloat(node, 'beta', 0.75);
    const bias = getFloat(node, 'bias', 1);
    return tf.localResponseNormalization(x, (size - 1) / 2, bias, alpha / size, beta);
  }

  private batchNorm(node: Node, vals: Map<string, Val>): Val {
    const x = this.input(vals, node.inputs[0]!);
    const eps = getFloat(node, 'epsilon', 1e-5);
    const [scale, b, mean, variance] = node.inputs.slice(1, 5).map((n) => this.toNchw(this.input(vals, n)));
    const rank = x.nhwc ? 4 : x.t.rank;
    const chan = (t: tf.Tensor) => (x.nhwc ? t : tf.reshape(t, [t.shape[0]!, ...Array<number>(rank - 2).fill(1)]));
    const inv = tf.div(scale!, tf.sqrt(tf.add(variance!, eps)));
    const y = tf.add(tf.mul(tf.sub(x.t, chan(mean!)), chan(inv)), chan(b!));
    return { t: y, nhwc: x.nhwc };
  }

  private concat(node: Node, vals: Map<string, Val>): Val {
    const ins = node.inputs.map((n) => this.input(vals, n));
    const rank = ins[0]!.nhwc ? 4 : ins[0]!.t.rank;
    let axis = getInt(node, 'axis', 1);
    if (axis < 0) axis += rank;
    if (axis === 1 && rank === 4 && ins.some((v) => v.nhwc)) return { t: tf.concat(ins.map((v) => this.toNhwc(v)), 3), nhwc: true };
    return { t: tf.concat(ins.map((v) => this.toNchw(v)), axis), nhwc: false };
  }

  private gemm(node: Node, vals: Map<string, Val>): tf.Tensor {
    const a = this.toNchw(this.input(vals, node.inputs[0]!));
    const b = this.toNchw(this.input(vals, node.inputs[1]!));
    const alpha = getFloat(node, 'alpha', 1);
    const beta = getFloat(node, 'beta', 1);
    let y = tf.matMul(a, b, getInt(node, 'transA', 0) === 1, getInt(node, 'transB', 0) === 1);
    if (alpha !== 1) y = tf.mul(y, alpha);
    const c = node.inputs[2];
    if (c) {
      const ct = this.toNchw(this.input(vals, c));
      y = tf.add(y, beta === 1 ? ct : tf.mul(ct, beta));
    }
    return y;
  }

  private reshapeTarget(node: Node, inShape: number[]): number[] {
    const stat = this.shapeOf(node.outputs[0]!);
    if (stat) return stat;
    const spec = this.constValues(node.inputs[1]!);
    return spec.map((d, k) => (d === 0 ? inShape[k]! : d));
  }

  private softmax(node: Node, x: tf.Tensor): tf.Tensor {
    const log = node.opType === 'LogSoftmax';
    let axis = getInt(node, 'axis', this.opset >= 13 ? -1 : 1);
    if (axis < 0) axis += x.rank;
    if (this.opset < 13) {
      // coerce to 2-D around `axis`
      const shape = x.shape;
      const flat = tf.reshape(x, [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis))]);
      return tf.reshape(log ? tf.logSoftmax(flat) : tf.softmax(flat), shape);
    }
    if (axis === x.rank - 1) return log ? tf.logSoftmax(x) : tf.softmax(x);
    const perm = [...x.shape.keys()];
    perm[axis] = x.rank - 1;
    perm[x.rank - 1] = axis;
    const t = tf.transpose(x, perm);
    return tf.transpose(log ? tf.logSoftmax(t) : tf.softmax(t), perm);
  }
}

/** An OIHW kernel with (d-1) zeros between taps: the dense equivalent of a dilated convolution. */
function dilateKernel(w: TensorData, [dh, dw]: [number, number]): TensorData {
  const [O, I, kH, kW] = w.dims as [number, number, number, number];
  const eH = (kH - 1) * dh + 1;
  const eW = (kW - 1) * dw + 1;
  const src = w.data as Float32Array;
  const out = new Float32Array(O * I * eH * eW);
  for (let oi = 0; oi < O * I; oi++)
    for (let i = 0; i < kH; i++)
      for (let j = 0; j < kW; j++) out[(oi * eH + i * dh) * eW + j * dw] = src[(oi * kH + i) * kW + j]!;
  return { dtype: 'float32', dims: [O, I, eH, eW], data: out };
}

function tensorOf(t: TensorData): tf.Tensor {
  if (t.dtype === 'float32') return tf.tensor(t.data as Float32Array, t.dims, 'float32');
  if (t.dtype === 'float64') return tf.tensor(Float32Array.from(t.data as Float64Array), t.dims, 'float32');
  if (t.dtype === 'int64' || t.dtype === 'int32') return tf.tensor(Int32Array.from(toNumbers(t)), t.dims, 'int32');
  throw new TfjsUnsupportedError(`tfjs reference: tensors of dtype ${t.dtype} are not supported`);
}

/** One objective term, summed over the batch (same meaning as src/optvis/objectives/build.ts). */
function termValue(v: Val, term: ResolvedTerm): tf.Tensor {
  const t = term.target;
  const x = v.t;
  const chanAxis = v.nhwc ? 3 : 1;
  if (t.kind === 'layer') return tf.div(tf.sum(tf.square(x)), sizeOf(term.shape.slice(1)));
  if (t.kind === 'class') {
    const k = t.cls as number;
    return tf.sum(tf.slice(tf.reshape(x, [x.shape[0]!, -1]), [0, k], [-1, 1]));
  }
  const begin = Array<number>(x.rank).fill(0);
  const size = Array<number>(x.rank).fill(-1);
  begin[chanAxis] = t.channel;
  size[chanAxis] = 1;
  if (t.kind === 'channel') {
    const positions = sizeOf(term.shape.slice(2));
    return tf.div(tf.sum(tf.slice(x, begin, size)), positions);
  }
  // neuron @y,x
  const [yAxis, xAxis] = v.nhwc ? [1, 2] : [2, 3];
  begin[yAxis] = t.y;
  size[yAxis] = 1;
  begin[xAxis] = t.x;
  size[xAxis] = 1;
  return tf.sum(tf.slice(x, begin, size));
}
