// One converter per tfjs layer class: tfjs' semantics (TensorFlow's 'same' padding, channels-last weights,
// tfjs' activation definitions) as ONNX nodes over NCHW values.
import type { TensorData } from '../onnx/ir.ts';
import { onnxAxis, permute, type LayerInfo, type TfjsContext, type Value } from './context.ts';

export type LayerConverter = (ctx: TfjsContext, layer: LayerInfo, inputs: Value[]) => Value[];

const SELU_SCALE = 1.0507009873554805;
const SELU_SCALE_ALPHA = 1.7580993408473768;

function pair(v: unknown, dflt: number): [number, number] {
  if (v === undefined || v === null) return [dflt, dflt];
  if (typeof v === 'number') return [v, v];
  const a = v as number[];
  return a.length === 1 ? [a[0]!, a[0]!] : [a[0]!, a[1]!];
}

function one(ctx: TfjsContext, layer: LayerInfo, inputs: Value[]): Value {
  if (inputs.length !== 1) ctx.fail(layer, `expects one input, got ${inputs.length}`);
  return inputs[0]!;
}

function image(ctx: TfjsContext, layer: LayerInfo, inputs: Value[]): Value {
  const x = one(ctx, layer, inputs);
  if (x.shape.length !== 4) ctx.fail(layer, `needs a 4-D input (batch, height, width, channels), got [${x.shape}]`);
  const fmt = layer.config['dataFormat'];
  if (fmt !== undefined && fmt !== 'channelsLast') ctx.fail(layer, `dataFormat '${String(fmt)}' is not supported (channelsLast is)`);
  return x;
}

/** TensorFlow's 'same' padding of one spatial dim: [before, after]. */
export function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

function spatialPads(ctx: TfjsContext, layer: LayerInfo, x: Value, k: [number, number], s: [number, number], d: [number, number]): number[] {
  const padding = (layer.config['padding'] as string | undefined) ?? 'valid';
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') ctx.fail(layer, `padding '${padding}' is not supported (valid and same are)`);
  const [t, b] = samePads(x.shape[1]!, k[0], s[0], d[0]);
  const [l, r] = samePads(x.shape[2]!, k[1], s[1], d[1]);
  return [t, l, b, r];
}

/** The layer's activation (tfjs' definitions) applied to `pre`; `out` names the result. */
export function activate(ctx: TfjsContext, layer: LayerInfo, activation: string | undefined, pre: Value, out: string): Value {
  const x = pre.name;
  const rank = pre.shape.length;
  const op = (type: string, attrs: Record<string, { f?: number; i?: number }> = {}) => ctx.op(type, [x], attrs, out);
  const constant = (v: number) => ctx.floats('c', [], [v]);
  let y: string;
  switch (activation ?? 'linear') {
    case 'linear':
      return pre;
    case 'relu':
      y = op('Relu');
      break;
    case 'relu6':
      y = ctx.op('Clip', [x, constant(0), constant(6)], {}, out);
      break;
    case 'elu':
      y = op('Elu', { alpha: { f: 1 } });
      break;
    case 'selu':
      y = op('Selu', { alpha: { f: SELU_SCALE_ALPHA / SELU_SCALE }, gamma: { f: SELU_SCALE } });
      break;
    case 'sigmoid':
      y = op('Sigmoid');
      break;
    case 'hardSigmoid':
    case 'hard_sigmoid':
      y = op('HardSigmoid', { alpha: { f: 0.2 }, beta: { f: 0.5 } });
      break;
    case 'tanh':
      y = op('Tanh');
      break;
    case 'softplus':
      y = op('Softplus');
      break;
    case 'softsign':
      y = op('Softsign');
      break;
    case 'softmax':
      y = op('Softmax', { axis: { i: onnxAxis(-1, rank) } });
      break;
    case 'logSoftmax':
      y = op('LogSoftmax', { axis: { i: onnxAxis(-1, rank) } });
      break;
    case 'swish': {
      const s = ctx.op('Sigmoid', [x], {}, `${out}/sigmoid`);
      y = ctx.op('Mul', [x, s], {}, out);
      break;
    }
    case 'gelu': {
      // x * 0.5 * (1 + erf(x / sqrt 2)), as tfjs' gelu.
      const e = ctx.op('Erf', [ctx.op('Mul', [x, constant(Math.SQRT1_2)], {}, `${out}/scaled`)], {}, `${out}/erf`);
      const cdf = ctx.op('Mul', [ctx.op('Add', [e, constant(1)], {}, `${out}/one_plus`), constant(0.5)], {}, `${out}/cdf`);
      y = ctx.op('Mul', [x, cdf], {}, out);
      break;
    }
    case 'gelu_new': {
      const cube = ctx.op('Mul', [ctx.op('Mul', [x, x], {}, `${out}/sq`), x], {}, `${out}/cube`);
      const inner = ctx.op('Add', [x, ctx.op('Mul', [cube, constant(0.044715)], {}, `${out}/c3`)], {}, `${out}/inner`);
      const t = ctx.op('Tanh', [ctx.op('Mul', [inner, constant(Math.sqrt(2 / Math.PI))], {}, `${out}/arg`)], {}, `${out}/tanh`);
      const half = ctx.op('Mul', [ctx.op('Add', [t, constant(1)], {}, `${out}/one_plus`), constant(0.5)], {}, `${out}/half`);
      y = ctx.op('Mul', [x, half], {}, out);
      break;
    }
    case 'mish': {
      const t = ctx.op('Tanh', [ctx.op('Softplus', [x], {}, `${out}/softplus`)], {}, `${out}/tanh`);
      y = ctx.op('Mul', [x, t], {}, out);
      break;
    }
    default:
      return ctx.fail(layer, `activation '${activation}' is not supported`);
  }
  return { name: y, shape: pre.shape };
}

function activationOf(layer: LayerInfo): string | undefined {
  const a = layer.config['activation'];
  return typeof a === 'string' ? a : undefined;
}

/** Name for the pre-activation tensor: the layer's own name when there is no activation to apply after it. */
function preName(layer: LayerInfo): string {
  const a = activationOf(layer);
  return a === undefined || a === 'linear' ? layer.name : `${layer.name}/preact`;
}

function finish(ctx: TfjsContext, layer: LayerInfo, pre: Value): Value[] {
  return [activate(ctx, layer, activationOf(layer), pre, layer.name)];
}

const conv2d: LayerConverter = (ctx, layer, inputs) => {
  const x = image(ctx, layer, inputs);
  const k = pair(layer.config['kernelSize'], 1);
  const s = pair(layer.config['strides'], 1);
  const d = pair(layer.config['dilationRate'], 1);
  const w = permute(ctx.weight(layer, 'kernel'), [3, 2, 0, 1]);
  const ins = [x.name, ctx.constant(w, `${layer.name}/kernel`)];
  if (layer.weights.has('bias')) ins.push(ctx.constant(ctx.weight(layer, 'bias'), `${layer.name}/bias`));
  const y = ctx.op('Conv', ins, { kernel_shape: { ints: k }, strides: { ints: s }, dilations: { ints: d }, pads: { ints: spatialPads(ctx, layer, x, k, s, d) } }, preName(layer));
  return finish(ctx, layer, { name: y, shape: layer.outShapes[0]! });
};

/** tfjs depthwise kernel [kh, kw, C, M] -> ONNX grouped weight [C*M, 1, kh, kw] (output channel c*M + m). */
function depthwiseWeight(t: TensorData): TensorData {
  const [kh, kw, c, m] = t.dims as [number, number, number, number];
  const p = permute(t, [2, 3, 0, 1]);
  return { ...p, dims: [c * m, 1, kh, kw] };
}

function depthwise(ctx: TfjsContext, layer: LayerInfo, x: Value, out: string): string {
  const k = pair(layer.config['kernelSize'], 1);
  const s = pair(layer.config['strides'], 1);
  // tfjs-layers 4.22's DepthwiseConv2D ignores dilationRate (op and output shape alike); SeparableConv2D honours it.
  const d: [number, number] = layer.className === 'DepthwiseConv2D' ? [1, 1] : pair(layer.config['dilationRate'], 1);
  const w = depthwiseWeight(ctx.weight(layer, 'depthwise_kernel'));
  const ins = [x.name, ctx.constant(w, `${layer.name}/depthwise_kernel`)];
  if (layer.className === 'DepthwiseConv2D' && layer.weights.has('bias')) ins.push(ctx.constant(ctx.weight(layer, 'bias'), `${layer.name}/bias`));
  return ctx.op('Conv', ins, {
    kernel_shape: { ints: k },
    strides: { ints: s },
    dilations: { ints: d },
    pads: { ints: spatialPads(ctx, layer, x, k, s, d) },
    group: { i: x.shape[3]! },
  }, out);
}

const depthwiseConv2d: LayerConverter = (ctx, layer, inputs) => {
  const x = image(ctx, layer, inputs);
  return finish(ctx, layer, { name: depthwise(ctx, layer, x, preName(layer)), shape: layer.outShapes[0]! });
};

const separableConv2d: LayerConverter = (ctx, layer, inputs) => {
  const x = image(ctx, layer, inputs);
  const dw = depthwise(ctx, layer, x, `${layer.name}/depthwise`);
  const pw = permute(ctx.weight(layer, 'pointwise_kernel'), [3, 2, 0, 1]);
  const ins = [dw, ctx.constant(pw, `${layer.name}/pointwise_kernel`)];
  if (layer.weights.has('bias')) ins.push(ctx.constant(ctx.weight(layer, 'bias'), `${layer.name}/bias`));
  const y = ctx.op('Conv', ins, { kernel_shape: { ints: [1, 1] } }, preName(layer));
  return finish(ctx, layer, { name: y, shape: layer.outShapes[0]! });
};

const conv2dTranspose: LayerConverter = (ctx, layer, inputs) => {
  const x = image(ctx, layer, inputs);
  const k = pair(layer.config['kernelSize'], 1);
  const s = pair(layer.config['strides'], 1);
  const d = pair(layer.config['dilationRate'], 1);
  if (d[0] !== 1 || d[1] !== 1) ctx.fail(layer, 'dilation is not supported for Conv2DTranspose');
  const outShape = layer.outShapes[0]!;
  const padding = (layer.config['padding'] as string | undefined) ?? 'valid';
  // The full transposed convolution is (in - 1) * s + k long; tfjs crops (same) or extends (k < s) it to its output size.
  const pads = [0, 0, 0, 0];
  const extra = [0, 0];
  for (let i = 0; i < 2; i++) {
    const full = (x.shape[1 + i]! - 1) * s[i]! + k[i]!;
    const target = outShape[1 + i]!;
    const before = padding === 'same' ? Math.floor(Math.max(k[i]! - s[i]!, 0) / 2) : 0;
    const after = full - target - before;
    pads[i] = before;
    if (after >= 0) pads[2 + i] = after;
    else extra[i] = -after;
  }
  const w = permute(ctx.weight(layer, 'kernel'), [3, 2, 0, 1]);
  const ins = [x.name, ctx.constant(w, `${layer.name}/kernel`)];
  if (layer.weights.has('bias')) ins.push(ctx.constant(ctx.weight(layer, 'bias'), `${layer.name}/bias`));
  const attrs: Record<string, { ints: number[] }> = { kernel_shape: { ints: k }, strides: { ints: s }, pads: { ints: pads } };
  if (extra[0] || extra[1]) attrs['output_padding'] = { ints: extra };
  const y = ctx.op('ConvTranspose', ins, attrs, preName(layer));
  return finish(ctx, layer, { name: y, shape: outShape });
};

const dense: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  const kernel = ctx.weight(layer, 'kernel');
  const [nIn, nOut] = kernel.dims as [number, number];
  const bias = layer.weights.has('bias') ? ctx.weight(layer, 'bias') : undefined;
  const outShape = [...x.shape.slice(0, -1), nOut];
  let y: string;
  if (x.shape.length === 2) {
    const ins = [x.name, ctx.constant(kernel, `${layer.name}/kernel`)];
    if (bias) ins.push(ctx.constant(bias, `${layer.name}/bias`));
    y = ctx.op('Gemm', ins, {}, preName(layer));
  } else if (x.shape.length === 4) {
    // Over the channels of an NCHW value: a 1x1 convolution.
    const w = { ...permute(kernel, [1, 0]), dims: [nOut, nIn, 1, 1] };
    const ins = [x.name, ctx.constant(w, `${layer.name}/kernel`)];
    if (bias) ins.push(ctx.constant(bias, `${layer.name}/bias`));
    y = ctx.op('Conv', ins, { kernel_shape: { ints: [1, 1] } }, preName(layer));
  } else {
    const mm = ctx.op('MatMul', [x.name, ctx.constant(kernel, `${layer.name}/kernel`)], {}, bias ? `${layer.name}/matmul` : preName(layer));
    y = bias ? ctx.op('Add', [mm, ctx.constant(bias, `${layer.name}/bias`)], {}, preName(layer)) : mm;
  }
  return finish(ctx, layer, { name: y, shape: outShape });
};

const batchNormalization: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  const rank = x.shape.length;
  const axis = onnxAxis((layer.config['axis'] as number | undefined) ?? -1, rank);
  const eps = (layer.config['epsilon'] as number | undefined) ?? 1e-3;
  const mean = ctx.weight(layer, 'moving_mean').data as Float32Array;
  const variance = ctx.weight(layer, 'moving_variance').data as Float32Array;
  const gamma = layer.weights.get('gamma')?.data as Float32Array | undefined;
  const beta = layer.weights.get('beta')?.data as Float32Array | undefined;
  const n = mean.length;
  const a = new Float64Array(n);
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = (gamma ? gamma[i]! : 1) / Math.sqrt(variance[i]! + eps);
    c[i] = (beta ? beta[i]! : 0) - mean[i]! * a[i]!;
  }
  const dims = Array.from({ length: rank }, (_, i) => (i === axis ? n : 1));
  const scaled = ctx.op('Mul', [x.name, ctx.floats(`${layer.name}/scale`, dims, a)], {}, `${layer.name}/scaled`);
  const y = ctx.op('Add', [scaled, ctx.floats(`${layer.name}/shift`, dims, c)], {}, layer.name);
  return [{ name: y, shape: x.shape }];
};

function pooling(kind: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (ctx, layer, inputs) => {
    const x = image(ctx, layer, inputs);
    const k = pair(layer.config['poolSize'], 2);
    const s = pair(layer.config['strides'] ?? layer.config['poolSize'], 2);
    const attrs: Record<string, { ints?: number[]; i?: number }> = { kernel_shape: { ints: k }, strides: { ints: s }, pads: { ints: spatialPads(ctx, layer, x, k, s, [1, 1]) } };
    // TensorFlow's average over a 'same' window divides by the in-bounds count.
    if (kind === 'AveragePool') attrs['count_include_pad'] = { i: 0 };
    return [{ name: ctx.op(kind, [x.name], attrs, layer.name), shape: layer.outShapes[0]! }];
  };
}

function globalPooling(kind: 'GlobalMaxPool' | 'GlobalAveragePool'): LayerConverter {
  return (ctx, layer, inputs) => {
    const x = image(ctx, layer, inputs);
    const outShape = layer.outShapes[0]!;
    const pooled = ctx.op(kind, [x.name], {}, outShape.length === 4 ? layer.name : `${layer.name}/pool`);
    if (outShape.length === 4) return [{ name: pooled, shape: outShape }];
    return [{ name: ctx.op('Flatten', [pooled], { axis: { i: 1 } }, layer.name), shape: outShape }];
  };
}

const flatten: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  if (x.shape.length === 2) return [x];
  // Flatten in tfjs' element order so the next Dense's weights line up.
  const t = ctx.tfjsOrder(x, layer.name);
  return [{ name: ctx.op('Flatten', [t], { axis: { i: 1 } }, layer.name), shape: layer.outShapes[0]! }];
};

const reshape: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  const outShape = layer.outShapes[0]!;
  const t = ctx.tfjsOrder(x, layer.name);
  const r = ctx.op('Reshape', [t, ctx.int64s(`${layer.name}/shape`, [0, ...outShape.slice(1)])], {}, outShape.length === 4 ? `${layer.name}/nhwc` : layer.name);
  return [ctx.fromTfjsOrder(r, outShape, layer.name)];
};

const concatenate: LayerConverter = (ctx, layer, inputs) => {
  if (inputs.length < 2) ctx.fail(layer, `needs at least two inputs, got ${inputs.length}`);
  const rank = inputs[0]!.shape.length;
  if (inputs.some((v) => v.shape.length !== rank)) ctx.fail(layer, 'inputs of different ranks are not supported');
  const axis = onnxAxis((layer.config['axis'] as number | undefined) ?? -1, rank);
  return [{ name: ctx.op('Concat', inputs.map((v) => v.name), { axis: { i: axis } }, layer.name), shape: layer.outShapes[0]! }];
};

function merge(opType: 'Add' | 'Mul' | 'Max' | 'Min' | 'Average'): LayerConverter {
  return (ctx, layer, inputs) => {
    if (inputs.length < 1) ctx.fail(layer, 'has no inputs');
    const rank = inputs[0]!.shape.length;
    if (inputs.some((v) => v.shape.length !== rank)) ctx.fail(layer, 'inputs of different ranks are not supported');
    const outShape = layer.outShapes[0]!;
    if (opType === 'Max' || opType === 'Min') return [{ name: ctx.op(opType, inputs.map((v) => v.name), {}, layer.name), shape: outShape }];
    const bin = opType === 'Mul' ? 'Mul' : 'Add';
    let acc = inputs[0]!.name;
    for (let i = 1; i < inputs.length; i++) {
      const last = i === inputs.length - 1 && opType !== 'Average';
      acc = ctx.op(bin, [acc, inputs[i]!.name], {}, last ? layer.name : `${layer.name}/${i}`);
    }
    if (opType === 'Average') acc = ctx.op('Mul', [acc, ctx.floats('c', [], [1 / inputs.length])], {}, layer.name);
    return [{ name: acc, shape: outShape }];
  };
}

const activationLayer: LayerConverter = (ctx, layer, inputs) => finish(ctx, layer, one(ctx, layer, inputs));

const reluLayer: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  const max = layer.config['maxValue'] as number | null | undefined;
  if (max === undefined || max === null) return [activate(ctx, layer, 'relu', x, layer.name)];
  const c = (v: number) => ctx.floats('c', [], [v]);
  return [{ name: ctx.op('Clip', [x.name, c(0), c(max)], {}, layer.name), shape: x.shape }];
};

const leakyRelu: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  const alpha = (layer.config['alpha'] as number | undefined) ?? 0.3;
  return [{ name: ctx.op('LeakyRelu', [x.name], { alpha: { f: alpha } }, layer.name), shape: x.shape }];
};

const eluLayer: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  const alpha = (layer.config['alpha'] as number | undefined) ?? 1;
  return [{ name: ctx.op('Elu', [x.name], { alpha: { f: alpha } }, layer.name), shape: x.shape }];
};

const prelu: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  let alpha = ctx.weight(layer, 'alpha');
  // alpha has the input's shape without the batch (channels last); NCHW wants [C, H, W].
  if (alpha.dims.length === 3) alpha = permute(alpha, [2, 0, 1]);
  return [{ name: ctx.op('PRelu', [x.name, ctx.constant(alpha, `${layer.name}/alpha`)], {}, layer.name), shape: x.shape }];
};

const softmaxLayer: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  const axis = layer.config['axis'] as number | number[] | undefined;
  const a = Array.isArray(axis) ? axis : [axis ?? -1];
  if (a.length !== 1) ctx.fail(layer, 'softmax over several axes is not supported');
  return [{ name: ctx.op('Softmax', [x.name], { axis: { i: onnxAxis(a[0]!, x.shape.length) } }, layer.name), shape: x.shape }];
};

const identity: LayerConverter = (_ctx, _layer, inputs) => inputs;

const rescaling: LayerConverter = (ctx, layer, inputs) => {
  const x = one(ctx, layer, inputs);
  // A scalar, or one value per channel (the last tfjs axis).
  const constant = (v: unknown, base: string) => {
    if (typeof v === 'number') return ctx.floats('c', [], [v]);
    const a = v as number[];
    const rank = x.shape.length;
    const dims = Array.from({ length: rank }, (_, i) => (i === onnxAxis(-1, rank) ? a.length : 1));
    return ctx.floats(`${layer.name}/${base}`, dims, a);
  };
  const offset = layer.config['offset'] ?? 0;
  const noOffset = offset === 0;
  const m = ctx.op('Mul', [x.name, constant(layer.config['scale'], 'scale')], {}, noOffset ? layer.name : `${layer.name}/scaled`);
  const y = noOffset ? m : ctx.op('Add', [m, constant(offset, 'offset')], {}, layer.name);
  return [{ name: y, shape: x.shape }];
};

/** [[top, bottom], [left, right]] from tfjs' padding/cropping forms (n, [h, w], [[t, b], [l, r]]). */
function edges(v: unknown): [number, number, number, number] {
  if (typeof v === 'number') return [v, v, v, v];
  const a = v as (number | number[])[];
  if (typeof a[0] === 'number') return [a[0], a[0], a[1] as number, a[1] as number];
  const [h, w] = a as number[][];
  return [h![0]!, h![1]!, w![0]!, w![1]!];
}

const zeroPadding2d: LayerConverter = (ctx, layer, inputs) => {
  const x = image(ctx, layer, inputs);
  const [t, b, l, r] = edges(layer.config['padding'] ?? 1);
  const pads = ctx.int64s(`${layer.name}/pads`, [0, 0, t, l, 0, 0, b, r]);
  return [{ name: ctx.op('Pad', [x.name, pads], { mode: { s: 'constant' } }, layer.name), shape: layer.outShapes[0]! }];
};

const cropping2d: LayerConverter = (ctx, layer, inputs) => {
  const x = image(ctx, layer, inputs);
  const [t, b, l, r] = edges(layer.config['cropping'] ?? 0);
  const [, h, w] = x.shape as [number, number, number];
  const y = ctx.op('Slice', [x.name, ctx.int64s(`${layer.name}/starts`, [t, l]), ctx.int64s(`${layer.name}/ends`, [h - b, w - r]), ctx.int64s(`${layer.name}/axes`, [2, 3])], {}, layer.name);
  return [{ name: y, shape: layer.outShapes[0]! }];
};

const upSampling2d: LayerConverter = (ctx, layer, inputs) => {
  const x = image(ctx, layer, inputs);
  const [sh, sw] = pair(layer.config['size'], 2);
  const nearest = ((layer.config['interpolation'] as string | undefined) ?? 'nearest') === 'nearest';
  const scales = ctx.floats(`${layer.name}/scales`, [4], [1, 1, sh, sw]);
  // tfjs resizes without align-corners or half-pixel centres: output i reads input i / scale.
  const attrs: Record<string, { s: string }> = nearest
    ? { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'floor' } }
    : { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'asymmetric' } };
  return [{ name: ctx.op('Resize', [x.name, '', scales], attrs, layer.name), shape: layer.outShapes[0]! }];
};

export const CONVERTERS: Record<string, LayerConverter> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Conv2DTranspose: conv2dTranspose,
  Dense: dense,
  BatchNormalization: batchNormalization,
  MaxPooling2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPool'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePool'),
  Flatten: flatten,
  Reshape: reshape,
  Concatenate: concatenate,
  Add: merge('Add'),
  Multiply: merge('Mul'),
  Average: merge('Average'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Activation: activationLayer,
  ReLU: reluLayer,
  LeakyReLU: leakyRelu,
  ELU: eluLayer,
  PReLU: prelu,
  Softmax: softmaxLayer,
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  UpSampling2D: upSampling2d,
  Rescaling: rescaling,
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
};

/** Model containers the converter walks into. */
export const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);
