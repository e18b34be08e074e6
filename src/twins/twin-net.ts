// The small vocabulary the architecture twins are written in: each call emits one Caffe layer as ONNX
// nodes through GraphBuilder, with the Caffe layer name as node name and an explicit output tensor name.
// Deliberately independent of src/caffe: the twins are the reference the converter is checked against.
import { GraphBuilder } from '../onnx/builder.ts';
import type { AttrValue, Model, TensorData } from '../onnx/ir.ts';
import { attr, emptyGraph, emptyModel } from '../onnx/ir.ts';
import { heBlobs, type LayerBlobs } from './init.ts';

export interface TwinOptions {
  /** Seed of the random weights (ignored for layers found in `weights`). */
  seed?: number;
  batch?: number;
  /** Weights by Caffe layer name, in Caffe layouts; missing layers get seeded random ones. */
  weights?: LayerBlobs;
}

export class TwinNet {
  readonly b = new GraphBuilder(emptyGraph('twin'));
  /** Every blob the twin used, by layer: what a caffemodel of the same net would hold. */
  readonly blobs: LayerBlobs = new Map();
  private readonly shapes = new Map<string, number[]>();
  /** Node names that are helpers of a layer (a Flatten before a Gemm), not layers. */
  private readonly helperNodes = new Set<string>();

  constructor(
    name: string,
    private readonly opts: TwinOptions,
  ) {
    this.b.graph.name = name;
  }

  get batch(): number {
    return this.opts.batch ?? 1;
  }

  shape(t: string): number[] {
    const s = this.shapes.get(t);
    if (!s) throw new Error(`twin: no tensor ${t}`);
    return s;
  }

  private emit(node: string, op: string, inputs: string[], out: string, shape: number[], attrs: Record<string, AttrValue> = {}): string {
    const name = this.b.fresh(out);
    if (name !== out) throw new Error(`twin: tensor name ${out} used twice`);
    this.b.node(op, inputs, attrs, [name]);
    this.b.graph.nodes[this.b.graph.nodes.length - 1]!.name = node;
    this.shapes.set(name, shape);
    this.b.setType(name, { dtype: 'float32', shape: [...shape] });
    return name;
  }

  private params(layer: string, weightDims: number[], bias: number, fanIn: number): string[] {
    const given = this.opts.weights?.get(layer);
    const blobs = given ?? heBlobs(this.opts.seed ?? 0, layer, weightDims, bias, fanIn);
    this.blobs.set(layer, blobs);
    const names: string[] = [];
    const w: TensorData = { ...blobs[0]!, dims: weightDims };
    names.push(this.b.fresh(`${layer}/W`));
    this.b.graph.initializers.set(names[0]!, w);
    if (bias > 0) {
      names.push(this.b.fresh(`${layer}/b`));
      this.b.graph.initializers.set(names[1]!, { ...blobs[1]!, dims: [bias] });
    }
    return names;
  }

  input(name: string, shape: number[]): string {
    const t = this.b.fresh(name);
    this.b.graph.inputs.push({ name: t, dtype: 'float32', shape });
    this.shapes.set(t, shape);
    this.b.setType(t, { dtype: 'float32', shape });
    return t;
  }

  /** Caffe Convolution: weights (Cout, Cin, k, k), output floor((H + 2p - k) / s) + 1. */
  conv(layer: string, x: string, out: string, cout: number, k: number, s = 1, p = 0): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const [W, B] = this.params(layer, [cout, c, k, k], cout, c * k * k);
    const o = (size: number) => Math.floor((size + 2 * p - k) / s) + 1;
    return this.emit(layer, 'Conv', [x, W!, B!], out, [n, cout, o(h), o(w)], {
      kernel_shape: attr.ints([k, k]),
      strides: attr.ints([s, s]),
      pads: attr.ints([p, p, p, p]),
    });
  }

  /** Caffe Deconvolution: weights (Cin, Cout, k, k), output (H - 1) * s - 2p + k. */
  deconv(layer: string, x: string, out: string, cout: number, k: number, s: number, p: number): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const [W, B] = this.params(layer, [c, cout, k, k], cout, (c * k * k) / (s * s));
    const o = (size: number) => (size - 1) * s - 2 * p + k;
    return this.emit(layer, 'ConvTranspose', [x, W!, B!], out, [n, cout, o(h), o(w)], {
      kernel_shape: attr.ints([k, k]),
      strides: attr.ints([s, s]),
      pads: attr.ints([p, p, p, p]),
    });
  }

  relu(layer: string, x: string, out: string, negativeSlope = 0): string {
    const shape = this.shape(x);
    return negativeSlope === 0
      ? this.emit(layer, 'Relu', [x], out, shape)
      : this.emit(layer, 'LeakyRelu', [x], out, shape, { alpha: attr.f(negativeSlope) });
  }

  /** Caffe max pooling, whose ceil rounding is onnxruntime's ceil_mode when no window starts in the padding. */
  maxPool(layer: string, x: string, out: string, k: number, s: number, p = 0): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    const o = (size: number) => Math.ceil((size + 2 * p - k) / s) + 1;
    return this.emit(layer, 'MaxPool', [x], out, [n, c, o(h), o(w)], {
      kernel_shape: attr.ints([k, k]),
      strides: attr.ints([s, s]),
      pads: attr.ints([p, p, p, p]),
      ceil_mode: attr.i(1),
    });
  }

  /** Average pooling over windows that fit exactly (no padding, no overhang). */
  avgPool(layer: string, x: string, out: string, k: number, s: number): string {
    const [n, c, h, w] = this.shape(x) as [number, number, number, number];
    if ((h - k) % s !== 0 || (w - k) % s !== 0) throw new Error(`twin: ${layer} windows do not fit exactly`);
    return this.emit(layer, 'AveragePool', [x], out, [n, c, (h - k) / s + 1, (w - k) / s + 1], {
      kernel_shape: attr.ints([k, k]),
      strides: attr.ints([s, s]),
    });
  }

  lrn(layer: string, x: string, out: string, size: number, alpha: number, beta: number, k = 1): string {
    return this.emit(layer, 'LRN', [x], out, this.shape(x), { size: attr.i(size), alpha: attr.f(alpha), beta: attr.f(beta), bias: attr.f(k) });
  }

  concat(layer: string, xs: string[], out: string): string {
    const shapes = xs.map((t) => this.shape(t));
    const shape = [...shapes[0]!];
    shape[1] = shapes.reduce((s, v) => s + v[1]!, 0);
    return this.emit(layer, 'Concat', xs, out, shape, { axis: attr.i(1) });
  }

  identity(layer: string, x: string, out: string): string {
    return this.emit(layer, 'Identity', [x], out, this.shape(x));
  }

  /** Caffe InnerProduct: flatten everything after the batch axis, weights (Nout, K), y = x W^T + b. */
  innerProduct(layer: string, x: string, out: string, nOut: number): string {
    const shape = this.shape(x);
    const k = shape.slice(1).reduce((a, b) => a * b, 1);
    let x2 = x;
    if (shape.length > 2) {
      x2 = this.emit(`${layer}/flatten`, 'Flatten', [x], `${layer}/flatten`, [shape[0]!, k], { axis: attr.i(1) });
      this.helperNodes.add(`${layer}/flatten`);
    }
    const [W, B] = this.params(layer, [nOut, k], nOut, k);
    return this.emit(layer, 'Gemm', [x2, W!, B!], out, [shape[0]!, nOut], { transB: attr.i(1) });
  }

  softmax(layer: string, x: string, out: string): string {
    return this.emit(layer, 'Softmax', [x], out, this.shape(x), { axis: attr.i(1) });
  }

  reshape(layer: string, x: string, out: string, shape: number[]): string {
    const c = this.b.constant({ dtype: 'int64', dims: [shape.length], data: BigInt64Array.from(shape.map(BigInt)) }, `${layer}/shape`);
    return this.emit(layer, 'Reshape', [x, c], out, shape);
  }

  /** The model, with `outputs` as graph outputs and 'fviz.aliases' naming every layer and blob. */
  finish(outputs: string[]): Model {
    const g = this.b.graph;
    g.outputs = outputs.map((o) => ({ name: o, dtype: 'float32', shape: [...this.shape(o)] }));
    const aliases: Record<string, string> = {};
    for (const n of g.nodes) if (!this.helperNodes.has(n.name)) aliases[n.name] ??= n.outputs[0]!;
    // Blobs: every tensor that is not an earlier in-place version (name__k) nor a helper's output.
    for (const t of [...g.inputs.map((i) => i.name), ...g.nodes.filter((n) => !this.helperNodes.has(n.name)).map((n) => n.outputs[0]!)])
      if (!/__\d+$/.test(t)) aliases[t] = t;
    const m = emptyModel(g);
    m.producerName = 'fviz twins';
    m.metadata['fviz.aliases'] = JSON.stringify(aliases);
    return m;
  }
}
