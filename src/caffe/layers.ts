// One lowering per Caffe layer type: Caffe's semantics (shapes, rounding, weight layouts) as ONNX nodes.
import { attr } from '../onnx/ir.ts';
import type { TextReader } from './prototxt.ts';
import type { ConvertContext } from './context.ts';
import type { NetLayer } from './net.ts';

export type LayerLowering = (ctx: ConvertContext, layer: NetLayer) => void;

function one<T>(ctx: ConvertContext, layer: NetLayer, list: T[], what: string): T {
  if (list.length !== 1) ctx.fail(layer, `expects exactly one ${what}, has ${list.length}`);
  return list[0]!;
}

function bottom1(ctx: ConvertContext, layer: NetLayer): { x: string; shape: number[] } {
  const x = ctx.input(layer, one(ctx, layer, layer.bottom, 'bottom'));
  return { x, shape: ctx.shape(x) };
}

function top1(ctx: ConvertContext, layer: NetLayer): string {
  return one(ctx, layer, layer.top, 'top');
}

function param(ctx: ConvertContext, layer: NetLayer, name: string): TextReader | undefined {
  return layer.params.message(name);
}

function requireRank(ctx: ConvertContext, layer: NetLayer, shape: number[], rank: number): void {
  if (shape.length !== rank) ctx.fail(layer, `needs a ${rank}-D input (N x C x H x W), got [${shape.join(', ')}]`);
}

function normAxis(ctx: ConvertContext, layer: NetLayer, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) ctx.fail(layer, `axis ${axis} is out of range for a ${rank}-D blob`);
  return a;
}

/** A 2-D spatial parameter given as `all` (one value or H, W), or as `h` and `w` fields. */
function spatial(ctx: ConvertContext, layer: NetLayer, p: TextReader, all: string, h: string, w: string, dflt?: number): [number, number] {
  if (p.has(h) || p.has(w)) {
    const vh = p.uint(h);
    const vw = p.uint(w);
    if (vh === undefined || vw === undefined) {
      if (dflt === undefined) ctx.fail(layer, `'${h}' and '${w}' must be given together`);
      return [vh ?? dflt, vw ?? dflt];
    }
    return [vh, vw];
  }
  const vals = p.ints(all);
  if (vals.some((v) => v < 0)) ctx.fail(layer, `'${all}' must be non-negative`);
  if (vals.length === 0) {
    if (dflt === undefined) ctx.fail(layer, `'${all}' (or '${h}' and '${w}') is required`);
    return [dflt, dflt];
  }
  if (vals.length === 1) return [vals[0]!, vals[0]!];
  if (vals.length === 2) return [vals[0]!, vals[1]!];
  return ctx.fail(layer, `'${all}' has ${vals.length} values; only 2-D layers are supported`);
}

function convolution(transposed: boolean): LayerLowering {
  return (ctx, layer) => {
    const p = param(ctx, layer, 'convolution_param') ?? ctx.fail(layer, 'convolution_param is missing');
    const { x, shape } = bottom1(ctx, layer);
    requireRank(ctx, layer, shape, 4);
    const [n, c, h, w] = shape as [number, number, number, number];
    const cout = p.uint('num_output') ?? ctx.fail(layer, 'num_output is missing');
    const group = p.uint('group', 1);
    if (group < 1 || c % group !== 0 || cout % group !== 0)
      ctx.fail(layer, `group ${group} must divide the input channels (${c}) and num_output (${cout})`);
    if (p.int('axis', 1) !== 1) ctx.fail(layer, 'only axis 1 (channels) is supported');
    const [kh, kw] = spatial(ctx, layer, p, 'kernel_size', 'kernel_h', 'kernel_w');
    const [ph, pw] = spatial(ctx, layer, p, 'pad', 'pad_h', 'pad_w', 0);
    const [sh, sw] = spatial(ctx, layer, p, 'stride', 'stride_h', 'stride_w', 1);
    const dil = p.ints('dilation');
    const [dh, dw] = dil.length === 0 ? [1, 1] : dil.length === 1 ? [dil[0]!, dil[0]!] : [dil[0]!, dil[1]!];
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || dh < 1 || dw < 1) ctx.fail(layer, 'kernel, stride and dilation must be positive');
    const bias = p.bool('bias_term', true);
    const ekh = dh * (kh - 1) + 1;
    const ekw = dw * (kw - 1) + 1;
    let weightDims: number[];
    let fanIn: number;
    let oh: number;
    let ow: number;
    if (transposed) {
      weightDims = [c, cout / group, kh, kw];
      fanIn = ((c / group) * kh * kw) / (sh * sw);
      oh = (h - 1) * sh - 2 * ph + ekh;
      ow = (w - 1) * sw - 2 * pw + ekw;
    } else {
      weightDims = [cout, c / group, kh, kw];
      fanIn = (c / group) * kh * kw;
      oh = Math.floor((h + 2 * ph - ekh) / sh) + 1;
      ow = Math.floor((w + 2 * pw - ekw) / sw) + 1;
    }
    if (oh < 1 || ow < 1) ctx.fail(layer, `output would be ${oh}x${ow} for a ${h}x${w} input`);
    const blobs = ctx.layerBlobs(layer, bias ? [weightDims, [cout]] : [weightDims], fanIn);
    const inputs = [x, ctx.initializer(`${layer.name}/W`, blobs[0]!)];
    if (bias) inputs.push(ctx.initializer(`${layer.name}/b`, blobs[1]!));
    const y = ctx.output(top1(ctx, layer), [n, cout, oh, ow]);
    ctx.node(layer.name, transposed ? 'ConvTranspose' : 'Conv', inputs, [y], {
      kernel_shape: attr.ints([kh, kw]),
      pads: attr.ints([ph, pw, ph, pw]),
      strides: attr.ints([sh, sw]),
      dilations: attr.ints([dh, dw]),
      group: attr.i(group),
    });
  };
}

const innerProduct: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'inner_product_param') ?? ctx.fail(layer, 'inner_product_param is missing');
  const { x, shape } = bottom1(ctx, layer);
  const nOut = p.uint('num_output') ?? ctx.fail(layer, 'num_output is missing');
  const axis = normAxis(ctx, layer, p.int('axis', 1), shape.length);
  const transpose = p.bool('transpose', false);
  const bias = p.bool('bias_term', true);
  const lead = shape.slice(0, axis);
  const m = lead.reduce((a, b) => a * b, 1);
  const k = shape.slice(axis).reduce((a, b) => a * b, 1);
  const blobs = ctx.layerBlobs(layer, bias ? [transpose ? [k, nOut] : [nOut, k], [nOut]] : [transpose ? [k, nOut] : [nOut, k]], k);
  let x2 = x;
  if (shape.length !== 2 || axis !== 1) {
    x2 = ctx.temp(`${layer.name}/flatten`, [m, k]);
    ctx.node(`${layer.name}/flatten`, 'Flatten', [x], [x2], { axis: attr.i(axis) });
  }
  const inputs = [x2, ctx.initializer(`${layer.name}/W`, blobs[0]!)];
  if (bias) inputs.push(ctx.initializer(`${layer.name}/b`, blobs[1]!));
  const outShape = [...lead, nOut];
  if (lead.length === 1) {
    ctx.node(layer.name, 'Gemm', inputs, [ctx.output(top1(ctx, layer), outShape)], { transB: attr.i(transpose ? 0 : 1) });
  } else {
    const g = ctx.temp(`${layer.name}/gemm`, [m, nOut]);
    ctx.node(layer.name, 'Gemm', inputs, [g], { transB: attr.i(transpose ? 0 : 1) });
    const y = ctx.output(top1(ctx, layer), outShape);
    ctx.node(`${layer.name}/reshape`, 'Reshape', [g, ctx.int64s(`${layer.name}/shape`, outShape)], [y]);
  }
};

const relu: LayerLowering = (ctx, layer) => {
  const { x, shape } = bottom1(ctx, layer);
  const slope = param(ctx, layer, 'relu_param')?.number('negative_slope', 0) ?? 0;
  const y = ctx.output(top1(ctx, layer), shape);
  if (slope === 0) ctx.node(layer.name, 'Relu', [x], [y]);
  else ctx.node(layer.name, 'LeakyRelu', [x], [y], { alpha: attr.f(slope) });
};

function unary(opType: string): LayerLowering {
  return (ctx, layer) => {
    const { x, shape } = bottom1(ctx, layer);
    ctx.node(layer.name, opType, [x], [ctx.output(top1(ctx, layer), shape)]);
  };
}

/** Caffe's pooled size: ceil rounding by default, and the last window must start inside the padded input. */
export function caffePooledSize(size: number, kernel: number, pad: number, stride: number, anyPad: boolean, ceil = true): number {
  const span = (size + 2 * pad - kernel) / stride;
  let out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
  if (anyPad && (out - 1) * stride >= size + pad) out--;
  return out;
}

const pooling: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'pooling_param') ?? ctx.fail(layer, 'pooling_param is missing');
  const { x, shape } = bottom1(ctx, layer);
  requireRank(ctx, layer, shape, 4);
  const [n, c, h, w] = shape as [number, number, number, number];
  const method = p.enumValue('pool', 'MAX', ['MAX', 'AVE', 'STOCHASTIC']);
  if (method !== 'MAX' && method !== 'AVE') ctx.fail(layer, `pool: ${method} is not supported (MAX and AVE are)`);
  const top = top1(ctx, layer);
  if (p.bool('global_pooling', false)) {
    const y = ctx.output(top, [n, c, 1, 1]);
    ctx.node(layer.name, method === 'MAX' ? 'GlobalMaxPool' : 'GlobalAveragePool', [x], [y]);
    return;
  }
  const [kh, kw] = spatial(ctx, layer, p, 'kernel_size', 'kernel_h', 'kernel_w');
  const [ph, pw] = spatial(ctx, layer, p, 'pad', 'pad_h', 'pad_w', 0);
  const [sh, sw] = spatial(ctx, layer, p, 'stride', 'stride_h', 'stride_w', 1);
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1) ctx.fail(layer, 'kernel and stride must be positive');
  if (ph >= kh || pw >= kw) ctx.fail(layer, 'pad must be smaller than the kernel');
  const ceil = p.enumValue('round_mode', 'CEIL', ['CEIL', 'FLOOR']) === 'CEIL';
  const anyPad = ph > 0 || pw > 0;
  const oh = caffePooledSize(h, kh, ph, sh, anyPad, ceil);
  const ow = caffePooledSize(w, kw, pw, sw, anyPad, ceil);
  if (oh < 1 || ow < 1) ctx.fail(layer, `output would be ${oh}x${ow} for a ${h}x${w} input`);
  // Windows Caffe's rounding adds past the padded input become explicit extra end padding.
  const eh = Math.max(0, (oh - 1) * sh + kh - (h + 2 * ph));
  const ew = Math.max(0, (ow - 1) * sw + kw - (w + 2 * pw));
  const common = { kernel_shape: attr.ints([kh, kw]), strides: attr.ints([sh, sw]) };
  const y = ctx.output(top, [n, c, oh, ow]);
  if (method === 'MAX') {
    ctx.node(layer.name, 'MaxPool', [x], [y], { ...common, pads: attr.ints([ph, pw, ph + eh, pw + ew]) });
    return;
  }
  // Caffe's AVE divides by the window clipped to the padded input: padding counts, the rounding overhang does not.
  if (anyPad && (eh > 0 || ew > 0)) {
    const padded = ctx.temp(`${layer.name}/pad`, [n, c, h + 2 * ph, w + 2 * pw]);
    ctx.node(`${layer.name}/pad`, 'Pad', [x, ctx.int64s(`${layer.name}/pads`, [0, 0, ph, pw, 0, 0, ph, pw])], [padded], {
      mode: attr.s('constant'),
    });
    ctx.node(layer.name, 'AveragePool', [padded], [y], { ...common, pads: attr.ints([0, 0, eh, ew]), count_include_pad: attr.i(0) });
  } else if (anyPad) {
    ctx.node(layer.name, 'AveragePool', [x], [y], { ...common, pads: attr.ints([ph, pw, ph, pw]), count_include_pad: attr.i(1) });
  } else {
    ctx.node(layer.name, 'AveragePool', [x], [y], { ...common, pads: attr.ints([0, 0, eh, ew]), count_include_pad: attr.i(0) });
  }
};

const lrn: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'lrn_param');
  const { x, shape } = bottom1(ctx, layer);
  requireRank(ctx, layer, shape, 4);
  const size = p?.uint('local_size', 5) ?? 5;
  const alpha = p?.number('alpha', 1) ?? 1;
  const beta = p?.number('beta', 0.75) ?? 0.75;
  const k = p?.number('k', 1) ?? 1;
  const region = p?.enumValue('norm_region', 'ACROSS_CHANNELS', ['ACROSS_CHANNELS', 'WITHIN_CHANNEL']) ?? 'ACROSS_CHANNELS';
  if (size % 2 !== 1) ctx.fail(layer, `local_size ${size} must be odd`);
  const y = ctx.output(top1(ctx, layer), shape);
  if (region === 'ACROSS_CHANNELS') {
    // Caffe: x / (k + alpha/size * sum of squares over `size` channels)^beta; ONNX LRN is the same formula.
    ctx.node(layer.name, 'LRN', [x], [y], { size: attr.i(size), alpha: attr.f(alpha), beta: attr.f(beta), bias: attr.f(k) });
    return;
  }
  // WITHIN_CHANNEL: x / (1 + alpha/size^2 * sum of squares over a size x size window, zero padded)^beta.
  const pad = (size - 1) / 2;
  const sq = ctx.temp(`${layer.name}/sq`, shape);
  ctx.node(`${layer.name}/sq`, 'Mul', [x, x], [sq]);
  const mean = ctx.temp(`${layer.name}/mean`, shape);
  ctx.node(`${layer.name}/mean`, 'AveragePool', [sq], [mean], {
    kernel_shape: attr.ints([size, size]),
    pads: attr.ints([pad, pad, pad, pad]),
    count_include_pad: attr.i(1),
  });
  const scaled = ctx.temp(`${layer.name}/scaled`, shape);
  ctx.node(`${layer.name}/scaled`, 'Mul', [mean, ctx.scalar(`${layer.name}/alpha`, alpha)], [scaled]);
  const base = ctx.temp(`${layer.name}/base`, shape);
  ctx.node(`${layer.name}/base`, 'Add', [scaled, ctx.scalar(`${layer.name}/one`, 1)], [base]);
  const factor = ctx.temp(`${layer.name}/factor`, shape);
  ctx.node(`${layer.name}/factor`, 'Pow', [base, ctx.scalar(`${layer.name}/negbeta`, -beta)], [factor]);
  ctx.node(layer.name, 'Mul', [x, factor], [y]);
};

const concat: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'concat_param');
  if (layer.bottom.length === 0) ctx.fail(layer, 'has no bottoms');
  const xs = layer.bottom.map((b) => ctx.input(layer, b));
  const shapes = xs.map((t) => ctx.shape(t));
  const rank = shapes[0]!.length;
  const raw = p?.has('axis') ? p.int('axis', 1) : (p?.uint('concat_dim', 1) ?? 1);
  const axis = normAxis(ctx, layer, raw, rank);
  const out = [...shapes[0]!];
  for (let i = 1; i < shapes.length; i++) {
    const s = shapes[i]!;
    if (s.length !== rank || s.some((d, j) => j !== axis && d !== out[j]))
      ctx.fail(layer, `bottom '${layer.bottom[i]}' has shape [${s.join(', ')}], not concatenable with [${shapes[0]!.join(', ')}] on axis ${axis}`);
    out[axis]! += s[axis]!;
  }
  ctx.node(layer.name, 'Concat', xs, [ctx.output(top1(ctx, layer), out)], { axis: attr.i(axis) });
};

const softmax: LayerLowering = (ctx, layer) => {
  const { x, shape } = bottom1(ctx, layer);
  const axis = normAxis(ctx, layer, param(ctx, layer, 'softmax_param')?.int('axis', 1) ?? 1, shape.length);
  ctx.node(layer.name, 'Softmax', [x], [ctx.output(top1(ctx, layer), shape)], { axis: attr.i(axis) });
};

const reshape: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'reshape_param') ?? ctx.fail(layer, 'reshape_param is missing');
  const { x, shape } = bottom1(ctx, layer);
  const dims = p.message('shape')?.ints('dim') ?? ctx.fail(layer, 'reshape_param has no shape');
  const rank = shape.length;
  const axisRaw = p.int('axis', 0);
  const start = axisRaw < 0 ? axisRaw + rank + 1 : axisRaw;
  const numAxes = p.int('num_axes', -1);
  const end = numAxes === -1 ? rank : start + numAxes;
  if (start < 0 || start > rank || end < start || end > rank) ctx.fail(layer, `axis ${axisRaw} / num_axes ${numAxes} do not fit a ${rank}-D input`);
  const mid = dims.map((d, i) => {
    if (d === 0) return shape[start + i] ?? ctx.fail(layer, `dim ${i} is 0 (copy) but the input has no axis ${start + i}`);
    // The prototxt's batch size written out explicitly follows the converted graph's batch.
    if (start === 0 && i === 0 && d === ctx.declaredBatch && ctx.batch !== ctx.declaredBatch) return ctx.batch;
    return d;
  });
  const out = [...shape.slice(0, start), ...mid, ...shape.slice(end)];
  const total = shape.reduce((a, b) => a * b, 1);
  const infer = out.filter((d) => d === -1).length;
  if (infer > 1) ctx.fail(layer, 'at most one dim may be -1');
  if (infer === 1) {
    const known = out.reduce((a, d) => (d === -1 ? a : a * d), 1);
    out[out.indexOf(-1)] = total / known;
  }
  if (out.some((d) => !Number.isInteger(d) || d < 0) || out.reduce((a, b) => a * b, 1) !== total)
    ctx.fail(layer, `cannot reshape [${shape.join(', ')}] to [${out.join(', ')}]`);
  const y = ctx.output(top1(ctx, layer), out);
  ctx.node(layer.name, 'Reshape', [x, ctx.int64s(`${layer.name}/shape`, out)], [y]);
};

const flatten: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'flatten_param');
  const { x, shape } = bottom1(ctx, layer);
  const a = normAxis(ctx, layer, p?.int('axis', 1) ?? 1, shape.length);
  const e = normAxis(ctx, layer, p?.int('end_axis', -1) ?? -1, shape.length);
  if (e < a) ctx.fail(layer, 'end_axis precedes axis');
  const out = [...shape.slice(0, a), shape.slice(a, e + 1).reduce((u, v) => u * v, 1), ...shape.slice(e + 1)];
  ctx.node(layer.name, 'Reshape', [x, ctx.int64s(`${layer.name}/shape`, out)], [ctx.output(top1(ctx, layer), out)]);
};

const split: LayerLowering = (ctx, layer) => {
  const { x, shape } = bottom1(ctx, layer);
  layer.top.forEach((t, i) => ctx.node(i === 0 ? layer.name : `${layer.name}/${i}`, 'Identity', [x], [ctx.output(t, shape)]));
};

const eltwise: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'eltwise_param');
  const op = p?.enumValue('operation', 'SUM', ['PROD', 'SUM', 'MAX']) ?? 'SUM';
  if (layer.bottom.length < 2) ctx.fail(layer, 'needs at least two bottoms');
  let xs = layer.bottom.map((b) => ctx.input(layer, b));
  const shape = ctx.shape(xs[0]!);
  for (const [i, t] of xs.entries())
    if (ctx.shape(t).join() !== shape.join()) ctx.fail(layer, `bottom '${layer.bottom[i]}' has shape [${ctx.shape(t).join(', ')}], not [${shape.join(', ')}]`);
  const coeff = p?.numbers('coeff') ?? [];
  if (coeff.length > 0 && (op !== 'SUM' || coeff.length !== xs.length)) ctx.fail(layer, 'coeff needs operation SUM and one value per bottom');
  if (coeff.some((c) => c !== 1))
    xs = xs.map((t, i) => {
      const s = ctx.temp(`${layer.name}/scaled${i}`, shape);
      ctx.node(`${layer.name}/scale${i}`, 'Mul', [t, ctx.scalar(`${layer.name}/coeff${i}`, coeff[i]!)], [s]);
      return s;
    });
  const y = ctx.output(top1(ctx, layer), shape);
  if (op === 'SUM') ctx.node(layer.name, 'Sum', xs, [y]);
  else if (op === 'MAX') ctx.node(layer.name, 'Max', xs, [y]);
  else {
    let acc = xs[0]!;
    for (let i = 1; i < xs.length; i++) {
      const o = i === xs.length - 1 ? y : ctx.temp(`${layer.name}/prod${i}`, shape);
      ctx.node(i === xs.length - 1 ? layer.name : `${layer.name}/prod${i}`, 'Mul', [acc, xs[i]!], [o]);
      acc = o;
    }
  }
};

const power: LayerLowering = (ctx, layer) => {
  const p = param(ctx, layer, 'power_param');
  const { x, shape } = bottom1(ctx, layer);
  const pw = p?.number('power', 1) ?? 1;
  const scale = p?.number('scale', 1) ?? 1;
  const shift = p?.number('shift', 0) ?? 0;
  const steps: Array<[string, string, number]> = [];
  if (scale !== 1) steps.push(['Mul', 'scale', scale]);
  if (shift !== 0) steps.push(['Add', 'shift', shift]);
  if (pw !== 1) steps.push(['Pow', 'power', pw]);
  const y = ctx.output(top1(ctx, layer), shape);
  if (steps.length === 0) {
    ctx.node(layer.name, 'Identity', [x], [y]);
    return;
  }
  let acc = x;
  steps.forEach(([op, what, v], i) => {
    const last = i === steps.length - 1;
    const o = last ? y : ctx.temp(`${layer.name}/${what}`, shape);
    ctx.node(last ? layer.name : `${layer.name}/${what}`, op, [acc, ctx.scalar(`${layer.name}/${what}_value`, v)], [o]);
    acc = o;
  });
};

const crop: LayerLowering = (ctx, layer) => {
  if (layer.bottom.length !== 2) ctx.fail(layer, 'needs two bottoms: the blob to crop and the reference');
  const x = ctx.input(layer, layer.bottom[0]!);
  const shape = ctx.shape(x);
  const ref = ctx.shape(ctx.input(layer, layer.bottom[1]!));
  const p = param(ctx, layer, 'crop_param');
  const axis = normAxis(ctx, layer, p?.int('axis', 2) ?? 2, shape.length);
  const offsets = p?.ints('offset') ?? [];
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const out = [...shape];
  for (let a = axis; a < shape.length; a++) {
    const off = offsets.length === 0 ? 0 : offsets.length === 1 ? offsets[0]! : (offsets[a - axis] ?? ctx.fail(layer, `needs ${shape.length - axis} offsets`));
    const size = ref[a] ?? ctx.fail(layer, `reference blob has no axis ${a}`);
    if (off + size > shape[a]!) ctx.fail(layer, `crop of ${size} at offset ${off} exceeds axis ${a} of size ${shape[a]}`);
    axes.push(a);
    starts.push(off);
    ends.push(off + size);
    out[a] = size;
  }
  const y = ctx.output(top1(ctx, layer), out);
  ctx.node(layer.name, 'Slice', [x, ctx.int64s(`${layer.name}/starts`, starts), ctx.int64s(`${layer.name}/ends`, ends), ctx.int64s(`${layer.name}/axes`, axes)], [y]);
};

export const LOWERINGS: Readonly<Record<string, LayerLowering>> = {
  Convolution: convolution(false),
  Deconvolution: convolution(true),
  InnerProduct: innerProduct,
  ReLU: relu,
  Pooling: pooling,
  LRN: lrn,
  Concat: concat,
  Dropout: unary('Identity'),
  Softmax: softmax,
  Reshape: reshape,
  Flatten: flatten,
  Split: split,
  Eltwise: eltwise,
  TanH: unary('Tanh'),
  Sigmoid: unary('Sigmoid'),
  AbsVal: unary('Abs'),
  BNLL: unary('Softplus'),
  Power: power,
  Crop: crop,
};

/** Layer types that only make sense while training: a hint that the user converted a train_val prototxt. */
export const TRAINING_ONLY_TYPES = new Set([
  'Data',
  'ImageData',
  'HDF5Data',
  'MemoryData',
  'WindowData',
  'DummyData',
  'Accuracy',
  'SoftmaxWithLoss',
  'EuclideanLoss',
  'HingeLoss',
  'InfogainLoss',
  'MultinomialLogisticLoss',
  'SigmoidCrossEntropyLoss',
  'ContrastiveLoss',
  'Silence',
]);
