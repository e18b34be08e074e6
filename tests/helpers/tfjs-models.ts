// Small tfjs LayersModels with random weights covering every layer the tfjs converter takes, saved with
// tfjs' own save path (model.save through an IO handler) into a folder.
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { fileSaveHandler } from '../../src/tfjs/io.ts';
import { loadTfjs, type Tfjs } from '../../src/tfjs/runtime.ts';

type S = SymbolicTensor;

/** Every weight replaced by seeded random values (variances positive, so batch norm is not the identity). */
export function randomizeWeights(tfjs: Tfjs, model: LayersModel, seed: number): void {
  const { tf } = tfjs;
  let k = seed;
  for (const layer of model.layers) {
    const ws = layer.weights;
    if (ws.length === 0) continue;
    layer.setWeights(
      ws.map((w) => {
        const name = w.originalName ?? w.name;
        const shape = w.shape as number[];
        if (/moving_variance/.test(name)) return tf.randomUniform(shape, 0.5, 1.5, 'float32', ++k);
        if (/gamma/.test(name)) return tf.randomUniform(shape, 0.5, 1.5, 'float32', ++k);
        const fan = shape.length > 1 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 4;
        return tf.randomNormal(shape, 0, 1 / Math.sqrt(fan), 'float32', ++k);
      }),
    );
  }
}

export interface TestModel {
  model: LayersModel;
  /** Units whose input gradient the test compares: [layer name, channel]. */
  units: [string, number][];
}

/**
 * Convolutions, normalization, pooling, merges and the activations, functional. Units for tf.grad stop before
 * 'same' average pooling: tfjs' gradient of it divides by the whole window, not by the in-bounds count its
 * forward divides by (avgPoolSameModel checks that layer against a reference tfjs does differentiate right).
 */
export function convModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const inp = tfl.input({ shape: [12, 11, 3], name: 'image' });
  const c1 = L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6', name: 'c1' }).apply(inp) as S; // 12 -> 6: pads 0,1
  const c2 = L.conv2d({ filters: 5, kernelSize: [3, 2], padding: 'same', activation: 'selu', name: 'c2' }).apply(c1) as S;
  const bn = L.batchNormalization({ name: 'bn' }).apply(c2) as S;
  const dw = L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', activation: 'hardSigmoid', name: 'dw' }).apply(bn) as S;
  const sep = L.separableConv2d({ filters: 10, kernelSize: 3, padding: 'same', activation: 'swish', name: 'sep' }).apply(bn) as S;
  const add = L.add({ name: 'add' }).apply([dw, sep]) as S;
  const g = L.activation({ activation: 'gelu', name: 'gelu' }).apply(add) as S;
  const t = L.activation({ activation: 'tanh', name: 'tanh' }).apply(add) as S;
  const mul = L.multiply({ name: 'mul' }).apply([g, t]) as S;
  const e = L.activation({ activation: 'elu', name: 'elu' }).apply(mul) as S;
  const sg = L.activation({ activation: 'sigmoid', name: 'sig' }).apply(bn) as S;
  const cat = L.concatenate({ name: 'cat' }).apply([e, sg]) as S; // channels: 10 + 5
  const mp = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'maxpool' }).apply(cat) as S; // 6x6 -> 3x3
  const ap = L.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same', name: 'avgpool_same' }).apply(mp) as S;
  const av = L.averagePooling2d({ poolSize: 2, strides: 1, padding: 'valid', name: 'avgpool_valid' }).apply(ap) as S;
  const rl = L.activation({ activation: 'relu', name: 'relu' }).apply(av) as S;
  const fl = L.flatten({ name: 'flat' }).apply(rl) as S;
  const out = L.dense({ units: 7, activation: 'softmax', name: 'logits' }).apply(fl) as S;
  return { model: tfl.model({ inputs: inp, outputs: out, name: 'convs' }), units: [['c2', 3], ['cat', 12], ['add', 4], ['mul', 2], ['maxpool', 3]] };
}

/** Shape layers, transposed convolution, resampling, the activation layers, Rescaling and Dense on rank 3 and 4. */
export function shapeModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const inp = tfl.input({ shape: [8, 7, 3], name: 'pixels' });
  const rs = L.rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescale' }).apply(inp) as S;
  const zp = L.zeroPadding2d({ padding: [[1, 2], [0, 3]], name: 'zpad' }).apply(rs) as S; // 11 x 10
  const cr = L.cropping2D({ cropping: [[2, 1], [1, 0]], name: 'crop' }).apply(zp) as S; // 8 x 9
  const c = L.conv2d({ filters: 4, kernelSize: 2, strides: 2, padding: 'valid', name: 'conv' }).apply(cr) as S; // 4 x 4
  const pr = L.prelu({ name: 'prelu' }).apply(c) as S;
  const tc = L.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', name: 'tconv_same' }).apply(pr) as S; // 8 x 8
  const tv = L.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid', name: 'tconv_valid' }).apply(pr) as S; // 9 x 9
  const lr = L.leakyReLU({ alpha: 0.2, name: 'leaky' }).apply(tv) as S;
  const crop = L.cropping2D({ cropping: [[0, 1], [1, 0]], name: 'crop2' }).apply(lr) as S; // 8 x 8
  const up = L.upSampling2d({ size: [2, 2], name: 'up_nearest' }).apply(L.maxPooling2d({ poolSize: 2, name: 'pool' }).apply(tc) as S) as S; // 8 x 8
  const ub = L.upSampling2d({ size: [2, 2], interpolation: 'bilinear', name: 'up_bilinear' }).apply(L.averagePooling2d({ poolSize: 2, name: 'pool2' }).apply(crop) as S) as S;
  const cat = L.concatenate({ axis: 3, name: 'cat' }).apply([up, ub, tc]) as S; // 8 x 8 x 8
  const relu = L.reLU({ maxValue: 0.5, name: 'relu_max' }).apply(cat) as S;
  const elu = L.elu({ name: 'elu_layer' }).apply(relu) as S;
  const d4 = L.dense({ units: 6, activation: 'relu', name: 'dense4d' }).apply(elu) as S; // dense over channels of a 4-D value
  const gmp = L.globalMaxPooling2d({ name: 'gmp' }).apply(d4) as S;
  const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(d4) as S;
  const r3 = L.reshape({ targetShape: [16, 24], name: 'to3d' }).apply(L.dropout({ rate: 0.5, name: 'drop' }).apply(d4) as S) as S;
  const d3 = L.dense({ units: 5, activation: 'sigmoid', name: 'dense3d' }).apply(r3) as S;
  const r4 = L.reshape({ targetShape: [4, 4, 25], name: 'to4d' }).apply(L.concatenate({ axis: 2, name: 'cat3d' }).apply([d3, d3, d3, d3, d3]) as S) as S;
  const conv4 = L.conv2d({ filters: 3, kernelSize: 1, name: 'conv4' }).apply(r4) as S;
  const fl = L.flatten({ name: 'flat' }).apply(conv4) as S;
  const sm = L.softmax({ name: 'softmax_layer' }).apply(L.dense({ units: 4, name: 'dense_mix' }).apply(L.concatenate({ name: 'cat2' }).apply([gmp, gap, fl]) as S) as S) as S;
  return { model: tfl.model({ inputs: inp, outputs: sm, name: 'shapes' }), units: [['tconv_same', 1], ['cat', 5], ['dense4d', 2], ['dense_mix', 3], ['to4d', 7]] };
}

/** A Sequential model nested inside a functional one, a layer shared by two calls, the merge layers. */
export function nestedModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const inner = tfl.sequential({
    name: 'block',
    layers: [L.conv2d({ inputShape: [6, 6, 4], filters: 4, kernelSize: 3, padding: 'same', name: 'inner_conv' }), L.batchNormalization({ name: 'inner_bn' }), L.activation({ activation: 'relu', name: 'inner_relu' })],
  });
  const inp = tfl.input({ shape: [6, 6, 2], name: 'x' });
  const c = L.conv2d({ filters: 4, kernelSize: 1, name: 'stem' }).apply(inp) as S;
  const b1 = inner.apply(c) as S;
  const shared = L.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'shared' });
  const s1 = shared.apply(b1) as S;
  const s2 = shared.apply(s1) as S;
  const avg = L.average({ name: 'avg' }).apply([s1, s2]) as S;
  const mx = L.maximum({ name: 'max' }).apply([s1, s2, b1]) as S;
  const mn = L.minimum({ name: 'min' }).apply([s1, s2]) as S;
  const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(L.add({ name: 'sum' }).apply([avg, mx, mn]) as S) as S;
  const out = L.dense({ units: 3, name: 'out' }).apply(gap) as S;
  return { model: tfl.model({ inputs: inp, outputs: out, name: 'nested' }), units: [['stem', 1], ['block', 2], ['sum', 2], ['out', 1]] };
}

/** A Sequential model, with the activations not used elsewhere. */
export function sequentialModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const model = tfl.sequential({
    name: 'seq',
    layers: [
      L.conv2d({ inputShape: [5, 5, 3], filters: 3, kernelSize: 3, name: 'sconv', activation: 'softplus' }),
      L.activation({ activation: 'mish' as never, name: 'smish' }),
      L.flatten({ name: 'sflat' }),
      L.dense({ units: 6, activation: 'gelu', name: 'sdense' }),
      L.activation({ activation: 'softsign', name: 'ssoftsign' }),
      L.dense({ units: 4, name: 'slogits' }),
    ],
  });
  return { model, units: [['sconv', 2], ['slogits', 3]] };
}

/** Per-channel Rescaling (scale and offset lists, as Keras 3 writes them) before a convolution. */
export function channelRescalingModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const model = tfl.sequential({
    name: 'rescale_channels',
    layers: [
      L.rescaling({ inputShape: [4, 5, 3], scale: [0.5, 2, -1] as never, offset: [0.1, -0.2, 0.3] as never, name: 'per_channel' }),
      L.conv2d({ filters: 2, kernelSize: 2, name: 'rconv' }),
    ],
  });
  return { model, units: [['per_channel', 1], ['rconv', 1]] };
}

/** Teachable Machine's nesting: Sequential[Sequential[a functional base cut at an inner layer, pooling], Sequential[head]]. */
export function teachableMachineModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const inp = tfl.input({ shape: [16, 16, 3], name: 'input_1' });
  const c1 = L.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'Conv1' }).apply(inp) as S;
  const r1 = L.reLU({ maxValue: 6, name: 'Conv1_relu' }).apply(c1) as S;
  const unused = L.conv2d({ filters: 4, kernelSize: 3, name: 'beyond_the_cut' }).apply(r1) as S;
  const full = tfl.model({ inputs: inp, outputs: unused });
  const cut = tfl.model({ inputs: full.inputs, outputs: full.getLayer('Conv1_relu').output as S, name: 'model1' });
  const base = tfl.sequential({ name: 'sequential_1', layers: [cut, L.globalAveragePooling2d({ name: 'pool' })] });
  const head = tfl.sequential({ name: 'sequential_3', layers: [L.dense({ inputShape: [4], units: 8, activation: 'relu', name: 'dense_1' }), L.dense({ units: 2, activation: 'softmax', name: 'dense_2' })] });
  return { model: tfl.sequential({ name: 'sequential_4', layers: [base, head] }), units: [['sequential_3', 1]] };
}

/** Transposed convolutions where tfjs crops unevenly (same, k - s odd) or extends the full output (k < s). */
export function transposedModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const inp = tfl.input({ shape: [5, 4, 3], name: 'image' });
  const a = L.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 3, padding: 'valid', name: 't_valid_k_lt_s' }).apply(inp) as S; // 15 x 12
  const b = L.conv2dTranspose({ filters: 2, kernelSize: [5, 4], strides: [3, 3], padding: 'same', name: 't_same_odd' }).apply(inp) as S; // 15 x 12
  const c = L.conv2dTranspose({ filters: 2, kernelSize: 1, strides: 3, padding: 'same', name: 't_same_k_lt_s' }).apply(inp) as S; // 15 x 12
  const out = L.dense({ units: 3, name: 'tout' }).apply(L.flatten({ name: 'tflat' }).apply(L.concatenate({ name: 'tcat' }).apply([a, b, c]) as S) as S) as S;
  return { model: tfl.model({ inputs: inp, outputs: out, name: 'transposed' }), units: [['t_valid_k_lt_s', 1], ['t_same_odd', 0], ['t_same_k_lt_s', 1], ['tout', 2]] };
}

/** A small MobileNet: Rescaling, a strided stem, depthwise-separable blocks with BN + ReLU6, GAP, Dropout, softmax. */
export function mobileNetModel({ tfl }: Tfjs, classes = 5, size = 32): TestModel {
  const L = tfl.layers;
  const inp = tfl.input({ shape: [size, size, 3], name: 'input_image' });
  let x = L.rescaling({ scale: 1 / 127.5, offset: -1, name: 'rescaling' }).apply(inp) as S;
  x = L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'conv1' }).apply(x) as S;
  x = L.batchNormalization({ name: 'conv1_bn' }).apply(x) as S;
  x = L.reLU({ maxValue: 6, name: 'conv1_relu' }).apply(x) as S;
  const blocks: [number, number][] = [[16, 1], [24, 2], [24, 1], [32, 2]];
  blocks.forEach(([filters, stride], i) => {
    const n = i + 1;
    x = L.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false, name: `conv_dw_${n}` }).apply(x) as S;
    x = L.batchNormalization({ name: `conv_dw_${n}_bn` }).apply(x) as S;
    x = L.reLU({ maxValue: 6, name: `conv_dw_${n}_relu` }).apply(x) as S;
    x = L.conv2d({ filters, kernelSize: 1, useBias: false, name: `conv_pw_${n}` }).apply(x) as S;
    x = L.batchNormalization({ name: `conv_pw_${n}_bn` }).apply(x) as S;
    x = L.reLU({ maxValue: 6, name: `conv_pw_${n}_relu` }).apply(x) as S;
  });
  x = L.globalAveragePooling2d({ name: 'global_pool' }).apply(x) as S;
  x = L.dropout({ rate: 0.001, name: 'dropout' }).apply(x) as S;
  x = L.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x) as S;
  return { model: tfl.model({ inputs: inp, outputs: x, name: 'mobilenet_tiny' }), units: [['conv_pw_2', 5], ['predictions', 2]] };
}

/**
 * Dilated convolutions (tfjs has no gradient for them). With `stuffed`, the same network with every dilated
 * kernel written out as an undilated one with zeros between the taps: identical arithmetic, and tf.grad works.
 */
export function dilatedModel({ tfl }: Tfjs, stuffed = false): TestModel {
  const L = tfl.layers;
  const inp = tfl.input({ shape: [10, 9, 3], name: 'image' });
  const d = stuffed ? 1 : 2;
  const k = (n: number) => (stuffed ? 2 * (n - 1) + 1 : n);
  const c = L.conv2d({ filters: 4, kernelSize: [k(3), k(2)], dilationRate: d, padding: 'same', activation: 'relu', name: 'dconv' }).apply(inp) as S;
  // tfjs ignores a DepthwiseConv2D's dilationRate; the converter must too.
  const dw = L.depthwiseConv2d({ kernelSize: 3, dilationRate: d, padding: 'valid', activation: 'tanh', name: 'ddw' }).apply(c) as S;
  const sep = L.separableConv2d({ filters: 3, kernelSize: k(2), dilationRate: d, padding: 'same', name: 'dsep' }).apply(dw) as S;
  const out = L.dense({ units: 3, name: 'dout' }).apply(L.flatten({ name: 'dflat' }).apply(sep) as S) as S;
  return { model: tfl.model({ inputs: inp, outputs: out, name: stuffed ? 'stuffed' : 'dilated' }), units: [['dconv', 1], ['dsep', 2], ['dout', 0]] };
}

/** Copy the weights of `dilatedModel` into its `stuffed` twin, spreading kernel taps 2 apart. */
export function copyStuffed({ tf }: Tfjs, from: LayersModel, to: LayersModel): void {
  for (const layer of from.layers) {
    const target = to.getLayer(layer.name);
    const ws = layer.getWeights().map((w, i) => {
      const name = layer.weights[i]!.originalName ?? '';
      if (!/(^|\/)(kernel|depthwise_kernel)$/.test(name) || layer.name === 'dout' || layer.name === 'ddw') return w;
      const [kh, kw, a, b] = w.shape as [number, number, number, number];
      const src = w.arraySync() as number[][][][];
      const eh = kh === 1 ? 1 : 2 * (kh - 1) + 1;
      const ew = kw === 1 ? 1 : 2 * (kw - 1) + 1;
      const out = Array.from({ length: eh }, () => Array.from({ length: ew }, () => Array.from({ length: a }, () => new Array<number>(b).fill(0))));
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) out[i * 2]![j * 2] = src[i]![j]!;
      return tf.tensor4d(out);
    });
    target.setWeights(ws);
  }
}

/** Conv -> 'same' average pooling (odd sizes, so windows overhang on one side) -> Dense. */
export function avgPoolSameModel({ tfl }: Tfjs): TestModel {
  const L = tfl.layers;
  const inp = tfl.input({ shape: [7, 6, 2], name: 'image' });
  const c = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'aconv' }).apply(inp) as S;
  const p = L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'apool' }).apply(c) as S; // 4 x 3
  const out = L.dense({ units: 2, name: 'aout' }).apply(L.flatten({ name: 'aflat' }).apply(p) as S) as S;
  return { model: tfl.model({ inputs: inp, outputs: out, name: 'avgsame' }), units: [['apool', 1], ['aout', 1]] };
}

/** Build, randomize and save into `dir` (model.json + weights.bin). */
export async function saveTestModel(build: (t: Tfjs) => TestModel, dir: string, seed: number): Promise<TestModel & { tfjs: Tfjs }> {
  const tfjs = await loadTfjs();
  const m = build(tfjs);
  randomizeWeights(tfjs, m.model, seed);
  await m.model.save(fileSaveHandler(dir));
  return { ...m, tfjs };
}
