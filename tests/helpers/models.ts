// Test models written with fviz's own writer: a PyTorch-style export with a symbolic batch and the
// shape-arithmetic Flatten, and model-zoo (Caffe2-converted) layouts at old opsets.
import { GraphBuilder } from '../../src/onnx/builder.ts';
import type { AttrValue, DType, Dim, Model, TensorData } from '../../src/onnx/ir.ts';
import { cloneModel, defaultOpset, emptyGraph, emptyModel, sizeOf } from '../../src/onnx/ir.ts';
import { prepareModel } from '../../src/onnx/prepare.ts';
import { expect } from 'vitest';
import { Session } from '../../src/runtime/session.ts';
import { tensor } from '../../src/onnx/tensor.ts';
import { Rng } from '../../src/util/rng.ts';

/** Random float32 weights, scaled by 1/sqrt(fan-in) so activations stay O(1). */
export function randomWeights(rng: Rng, dims: number[], fanIn = sizeOf(dims.slice(1))): TensorData {
  const s = 1 / Math.sqrt(Math.max(1, fanIn));
  return tensor('float32', dims, Array.from({ length: sizeOf(dims) }, () => rng.normal() * s));
}

export function randomInput(rng: Rng, dims: number[]): TensorData {
  return tensor('float32', dims, Array.from({ length: sizeOf(dims) }, () => rng.normal()));
}

class ModelWriter {
  readonly g = emptyGraph('test');
  readonly b = new GraphBuilder(this.g);
  constructor(readonly rng: Rng) {}

  input(name: string, shape: Dim[]): string {
    this.g.inputs.push({ name, dtype: 'float32', shape });
    return name;
  }

  weight(base: string, dims: number[], fanIn?: number): string {
    const name = this.b.fresh(base);
    this.g.initializers.set(name, randomWeights(this.rng, dims, fanIn));
    return name;
  }

  positive(base: string, n: number): string {
    const name = this.b.fresh(base);
    this.g.initializers.set(name, tensor('float32', [n], Array.from({ length: n }, () => 0.5 + this.rng.uniform())));
    return name;
  }

  init(base: string, t: TensorData): string {
    const name = this.b.fresh(base);
    this.g.initializers.set(name, t);
    return name;
  }

  /** One node named `name` with output `name` (as exporters name them). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name?: string, outputs = 1): string[] {
    const node = this.b.fresh(name ?? opType.toLowerCase());
    const outs = outputs === 1 ? [node] : Array.from({ length: outputs }, (_, k) => (k === 0 ? node : this.b.fresh(`${node}_${k}`)));
    this.g.nodes.push({ name: node, opType, domain: '', inputs, outputs: outs, attrs });
    return outs;
  }

  one(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    return this.op(opType, inputs, attrs, name)[0]!;
  }

  conv(x: string, cin: number, cout: number, k: number, attrs: Record<string, AttrValue> = {}, name?: string): string {
    const w = this.weight(`${name ?? 'conv'}_W`, [cout, cin, k, k]);
    const bias = this.weight(`${name ?? 'conv'}_b`, [cout], 1);
    return this.one('Conv', [x, w, bias], { kernel_shape: { ints: [k, k] }, ...attrs }, name);
  }

  model(outputs: string[], opset: number): Model {
    this.g.outputs = outputs.map((name) => ({ name, dtype: 'float32', shape: [] }));
    const m = emptyModel(this.g, opset);
    m.irVersion = opset >= 17 ? 8 : opset >= 13 ? 7 : opset >= 11 ? 6 : 3;
    m.producerName = 'fviz-tests';
    return m;
  }
}

export interface PytorchCnnOptions {
  opset?: number;
  seed?: number;
  /** Channels of the input image. */
  channels?: number;
  size?: number;
  classes?: number;
}

/**
 * A CNN laid out as torch.onnx.export writes it: input 'input' of shape ['batch_size', 3, H, W],
 * Conv + BatchNormalization + Relu + MaxPool, a second Conv + Relu, then x.view(x.size(0), -1) as
 * Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape, a Gemm, and a Constant node scaling the logits.
 */
export function pytorchCnn(opts: PytorchCnnOptions = {}): Model {
  const opset = opts.opset ?? 17;
  const w = new ModelWriter(new Rng(opts.seed ?? 7));
  const c = opts.channels ?? 3;
  const size = opts.size ?? 16;
  const classes = opts.classes ?? 10;
  const x = w.input('input', ['batch_size', c, size, size]);
  const c1 = w.conv(x, c, 8, 3, { pads: { ints: [1, 1, 1, 1] } }, '/features/conv1/Conv');
  const bn = w.one(
    'BatchNormalization',
    [c1, w.positive('bn.weight', 8), w.weight('bn.bias', [8], 1), w.weight('bn.running_mean', [8], 1), w.positive('bn.running_var', 8)],
    { epsilon: { f: 1e-5 }, momentum: { f: 0.9 } },
    '/features/bn1/BatchNormalization',
  );
  const r1 = w.one('Relu', [bn], {}, '/features/relu1/Relu');
  const p1 = w.one('MaxPool', [r1], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }, '/features/pool1/MaxPool');
  const c2 = w.conv(p1, 8, 16, 3, { strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }, '/features/conv2/Conv');
  const r2 = w.one('Relu', [c2], {}, '/features/relu2/Relu');
  // x.view(x.size(0), -1)
  const shape = w.one('Shape', [r2], {}, '/Shape');
  const zero = w.one('Constant', [], { value: { t: tensor('int64', [], [0]) } }, '/Constant');
  const batch = w.one('Gather', [shape, zero], { axis: { i: 0 } }, '/Gather');
  const axes0 = w.init('onnx::Unsqueeze_axes', tensor('int64', [1], [0]));
  const batch1 = w.one('Unsqueeze', opset >= 13 ? [batch, axes0] : [batch], opset >= 13 ? {} : { axes: { ints: [0] } }, '/Unsqueeze');
  const minus1 = w.one('Constant', [], { value: { t: tensor('int64', [1], [-1]) } }, '/Constant_1');
  const target = w.one('Concat', [batch1, minus1], { axis: { i: 0 } }, '/Concat');
  const flat = w.one('Reshape', [r2, target], {}, '/Reshape');
  const feat = 16 * Math.ceil(size / 4) * Math.ceil(size / 4);
  const fc = w.one('Gemm', [flat, w.weight('fc.weight', [classes, feat]), w.weight('fc.bias', [classes], 1)], { transB: { i: 1 } }, '/fc/Gemm');
  const temp = w.one('Constant', [], { value: { t: tensor('float32', [], [0.5]) } }, '/Constant_2');
  const logits = w.op('Mul', [fc, temp], {}, 'logits')[0]!;
  return w.model([logits], opset);
}

/**
 * A model-zoo layout as the Caffe2 converter wrote it (GoogLeNet/SqueezeNet style) at an old opset:
 * Conv, Relu, MaxPool with ceil_mode=1 and pads, LRN, an inception-like Concat of two branches, Upsample
 * (Resize from opset 10 on), AveragePool, Clip as ReLU6, Pad, Slice, Unsqueeze/Squeeze, Dropout with its
 * ratio, Reshape to [1, -1], Gemm and Softmax(axis=1); a LogSoftmax over channels of a 4-D map exercises
 * the opset < 13 coercion to 2-D. Every op is written in the form its opset defines.
 */
export function zooCnn(opset: number, seed = 3): Model {
  const w = new ModelWriter(new Rng(seed));
  const x = w.input('data_0', [1, 3, 15, 15]);
  const conv1 = w.conv(x, 3, 8, 3, { pads: { ints: [1, 1, 1, 1] } }, 'conv1/7x7_s2_1');
  let bn = conv1;
  if (opset < 9) {
    bn = w.one(
      'BatchNormalization',
      [conv1, w.positive('bn_scale', 8), w.weight('bn_bias', [8], 1), w.weight('bn_mean', [8], 1), w.positive('bn_var', 8)],
      { epsilon: { f: 1e-5 }, spatial: { i: 1 } },
      'conv1/bn_1',
    );
  }
  const relu1 = w.one('Relu', [bn], {}, 'conv1/relu_7x7_1');
  const pool1 = w.one(
    'MaxPool',
    [relu1],
    { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [0, 0, 1, 1] }, ...(opset >= 10 ? { ceil_mode: { i: 1 } } : {}) },
    'pool1/3x3_s2_1',
  );
  const lrn = w.one('LRN', [pool1], { size: { i: 5 }, alpha: { f: 1e-4 }, beta: { f: 0.75 }, bias: { f: 1 } }, 'pool1/norm1_1');
  const a = w.one('Relu', [w.conv(lrn, 8, 4, 1, {}, 'inception/1x1_1')], {}, 'inception/relu_1x1_1');
  const b3 = w.conv(lrn, 8, 4, 3, { pads: { ints: [1, 1, 1, 1] } }, 'inception/3x3_1');
  const clipAttrs: Record<string, AttrValue> = opset < 11 ? { min: { f: 0 }, max: { f: 6 } } : {};
  const clipIn = opset < 11 ? [b3] : [b3, w.init('clip_min', tensor('float32', [], [0])), w.init('clip_max', tensor('float32', [], [6]))];
  const b = w.one('Clip', clipIn, clipAttrs, 'inception/relu6_3x3_1');
  const cat = w.one('Concat', [a, b], { axis: { i: 1 } }, 'inception/output_1');
  let up: string;
  if (opset < 9) up = w.one('Upsample', [cat], { mode: { s: 'nearest' }, scales: { floats: [1, 1, 2, 2] } }, 'upsample_1');
  else if (opset === 9) up = w.one('Upsample', [cat, w.init('up_scales', tensor('float32', [4], [1, 1, 2, 2]))], { mode: { s: 'nearest' } }, 'upsample_1');
  else if (opset === 10) up = w.one('Resize', [cat, w.init('up_scales', tensor('float32', [4], [1, 1, 2, 2]))], { mode: { s: 'nearest' } }, 'upsample_1');
  else
    up = w.one(
      'Resize',
      [cat, w.init('roi', tensor('float32', [0], [])), w.init('up_scales', tensor('float32', [4], [1, 1, 2, 2]))],
      { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'floor' } },
      'upsample_1',
    );
  const padded =
    opset < 11
      ? w.one('Pad', [up], { pads: { ints: [0, 0, 1, 1, 0, 0, 1, 1] }, value: { f: 0.25 } }, 'pad_1')
      : w.one('Pad', [up, w.init('pads', tensor('int64', [8], [0, 0, 1, 1, 0, 0, 1, 1])), w.init('pad_value', tensor('float32', [], [0.25]))], {}, 'pad_1');
  const pool2 = w.one(
    'AveragePool',
    [padded],
    { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, count_include_pad: { i: 1 }, ...(opset >= 10 ? { ceil_mode: { i: 1 } } : {}) },
    'pool2/3x3_s2_1',
  );
  const sliced =
    opset < 10
      ? w.one('Slice', [pool2], { starts: { ints: [1] }, ends: { ints: [7] }, axes: { ints: [1] } }, 'slice_1')
      : w.one('Slice', [pool2, w.init('starts', tensor('int64', [1], [1])), w.init('ends', tensor('int64', [1], [7])), w.init('axes', tensor('int64', [1], [1]))], {}, 'slice_1');
  const chMap = w.one('LogSoftmax', [sliced], opset < 13 ? { axis: { i: 1 } } : { axis: { i: 1 } }, 'prob_map_1');
  const drop =
    opset < 12
      ? w.op('Dropout', [sliced], { ratio: { f: 0.4 } }, 'pool5/drop_7x7_s1_1', 2)[0]!
      : w.op('Dropout', [sliced, w.init('ratio', tensor('float32', [], [0.4]))], {}, 'pool5/drop_7x7_s1_1', 2)[0]!;
  const flat = w.one('Reshape', [drop, w.init('OC2_DUMMY_1', tensor('int64', [2], [1, -1]))], {}, 'OC2_DUMMY_0');
  const un =
    opset < 13
      ? w.one('Unsqueeze', [flat], { axes: { ints: [2] } }, 'unsqueeze_1')
      : w.one('Unsqueeze', [flat, w.init('un_axes', tensor('int64', [1], [2]))], {}, 'unsqueeze_1');
  const sq =
    opset < 13
      ? w.one('Squeeze', [un], { axes: { ints: [2] } }, 'squeeze_1')
      : w.one('Squeeze', [un, w.init('sq_axes', tensor('int64', [1], [2]))], {}, 'squeeze_1');
  const side = opset >= 10 ? 10 : 8; // ceil_mode (opset 10+) keeps one more row and column in both pools
  const feat = 6 * side * side;
  const fc = w.one('Gemm', [sq, w.weight('loss3/classifier_w_0', [10, feat]), w.weight('loss3/classifier_b_0', [10], 1)], { transB: { i: 1 } }, 'loss3/classifier_1');
  const prob = w.one('Softmax', [fc], { axis: { i: 1 } }, 'prob_1');
  return w.model([prob, chMap], opset);
}

export interface OpInput {
  shape: number[];
  dtype?: DType;
  /** A constant input (initializer) with these values; otherwise a graph input fed random normals. */
  value?: number[];
  /** An omitted optional input (''). */
  absent?: boolean;
}

/**
 * One node of `opType` at `opset` over inputs in0, in1, ... (graph inputs or initializers) and outputs
 * out0, out1, ..., with random feeds for the graph inputs. Output types are declared as `outDtypes`.
 */
export function singleOpModel(
  opset: number,
  opType: string,
  inputs: OpInput[],
  attrs: Record<string, AttrValue> = {},
  outputs = 1,
  opts: { seed?: number; outDtypes?: DType[]; domain?: string } = {},
): { model: Model; feeds: Record<string, TensorData> } {
  const rng = new Rng(opts.seed ?? 11);
  const g = emptyGraph('single');
  const feeds: Record<string, TensorData> = {};
  const names = inputs.map((inp, k) => {
    if (inp.absent) return '';
    const name = `in${k}`;
    const dtype = inp.dtype ?? 'float32';
    if (inp.value) g.initializers.set(name, tensor(dtype, inp.shape, inp.value));
    else {
      g.inputs.push({ name, dtype, shape: inp.shape });
      feeds[name] = tensor(dtype, inp.shape, Array.from({ length: sizeOf(inp.shape) }, () => rng.normal()));
    }
    return name;
  });
  while (names.length && names[names.length - 1] === '') names.pop();
  const outs = Array.from({ length: outputs }, (_, k) => `out${k}`);
  g.nodes.push({ name: `${opType}_node`, opType, domain: opts.domain ?? '', inputs: names, outputs: outs, attrs });
  g.outputs = outs.map((name, k) => ({ name, dtype: opts.outDtypes?.[k] ?? 'float32', shape: [] }));
  const m = emptyModel(g, opset);
  m.irVersion = opset >= 21 ? 10 : opset >= 19 ? 9 : opset >= 17 ? 8 : opset >= 13 ? 7 : opset >= 11 ? 6 : opset >= 10 ? 5 : 3;
  return { model: m, feeds };
}

// ------------------------------------------------------------------ running them in onnxruntime

export async function runModel(model: Model, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
  const s = await Session.create(model, { threads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/**
 * Run `model` with every node output made a graph output, typed as `typesFrom` (a prepared model) knows
 * them, so onnxruntime reports the shape of each intermediate value.
 */
export async function runAllValues(
  model: Model,
  feeds: Record<string, TensorData>,
  typesFrom: Model = model,
): Promise<Record<string, TensorData>> {
  const m = cloneModel(model);
  const types = typesFrom.graph.valueTypes;
  const names = new Set<string>();
  for (const n of m.graph.nodes) for (const o of n.outputs) if (o && types.has(o)) names.add(o);
  m.graph.outputs = [...names].map((name) => ({ name, dtype: types.get(name)!.dtype, shape: [...types.get(name)!.shape] }));
  return runModel(m, feeds);
}

export function maxAbsDiff(a: TensorData, b: TensorData): number {
  const x = a.data as ArrayLike<number>;
  const y = b.data as ArrayLike<number>;
  if (x.length !== y.length) return Infinity;
  let d = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.abs(Number(x[i]) - Number(y[i]));
    if (Number.isNaN(e) ? !(Number.isNaN(Number(x[i])) && Number.isNaN(Number(y[i]))) : e > d) d = Number.isNaN(e) ? Infinity : e;
  }
  return d;
}

// ------------------------------------------------------------------ normalization against the original node

/** One op at one opset, for the checks that normalization keeps what onnxruntime computes. */
export interface OpConversion {
  label: string;
  opset: number;
  op: string;
  inputs: OpInput[];
  attrs?: Record<string, AttrValue>;
  outputs?: number;
  outDtypes?: DType[];
  /** Op types the normalized graph must not contain. */
  gone?: string[];
}

/** Normalizes the single-op model to opset 17 and checks every output against onnxruntime on the original. */
export async function expectConversionMatches(c: OpConversion, tolerance: number): Promise<void> {
  const { model, feeds } = singleOpModel(c.opset, c.op, c.inputs, c.attrs ?? {}, c.outputs ?? 1, { outDtypes: c.outDtypes });
  const want = await runModel(model, feeds);
  const prepared = prepareModel(model);
  expect(defaultOpset(prepared)).toBe(17);
  for (const op of c.gone ?? []) expect(prepared.graph.nodes.map((n) => n.opType)).not.toContain(op);
  const got = await runModel(prepared, feeds);
  for (const name of Object.keys(want)) {
    expect(got[name]!.dims).toEqual(want[name]!.dims);
    expect(got[name]!.dims).toEqual(prepared.graph.valueTypes.get(name)!.shape);
    expect(maxAbsDiff(got[name]!, want[name]!)).toBeLessThan(tolerance);
  }
}

// ------------------------------------------------------------------ shorthands for single-op cases

export const ints = (v: number[]): AttrValue => ({ ints: v });
export const int = (v: number): AttrValue => ({ i: v });
export const str = (v: string): AttrValue => ({ s: v });
export const f = (v: number): AttrValue => ({ f: v });
export const f32 = (shape: number[]): OpInput => ({ shape });
export const i64 = (values: number[]): OpInput => ({ shape: [values.length], dtype: 'int64', value: values });
