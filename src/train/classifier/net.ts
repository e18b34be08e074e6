// The embedded classifier: GoogLeNet at 32 x 32. A stem convolution, inception modules (1x1; 3x3 reduce +
// 3x3; 5x5 reduce + 5x5; 3x3 max-pool + projection; concatenated), max-pool downsampling between stages,
// global average pooling, a ReLU fully connected code layer 'fc6' (as CaffeNet's fc6), the class layer
// 'logits' and the softmax 'prob'. Tensor names follow Caffe's GoogLeNet (inception_4a/output, ...).
import type { Dim, Model } from '../../onnx/ir.ts';
import { NetBuilder, type NetMode } from '../net.ts';

/** Output channels of the four branches: [1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection]. */
export type InceptionWidths = [number, number, number, number, number, number];

/** A stage's module: an inception module, or (a plain number) one 3x3 convolution of that width, as in VGG. */
export type ClassifierModule = InceptionWidths | number;

export interface ClassifierConfig {
  /** Stem: 3x3 convolutions at full resolution. */
  stem: number[];
  /** Stages of inception modules; a 3x3 stride-2 max-pool sits between consecutive stages. */
  stages: { name: string; modules: ClassifierModule[] }[];
  /** Units of the code layer. */
  fc6: number;
  classes: number;
  size: [number, number];
  /**
   * Order in the pool branch: GoogLeNet's 'pool-proj' (3x3 max-pool, then the 1x1 projection), or
   * 'proj-pool' (project first, pool the few projected channels: the same receptive field at a fraction of
   * the pooling work, which dominates a training step on onnxruntime's CPU max-pool with indices).
   */
  poolBranch?: 'pool-proj' | 'proj-pool';
  /** Max-pool window between stages (stride 2): 3 as GoogLeNet, or 2. */
  downsampleKernel?: 2 | 3;
}

export const CLASSIFIER_INPUT = 'data';
export const CODE_LAYER = 'fc6';
export const LOGITS = 'logits';
export const PROB = 'prob';

/** Named sizes; `googlenet32` is the embedded model. */
export const CLASSIFIER_PRESETS: Record<string, ClassifierConfig> = {
  /** For tests: trains in seconds. */
  tiny: {
    stem: [8],
    stages: [
      { name: '3', modules: [[4, 4, 8, 2, 4, 4]] },
      { name: '4', modules: [[8, 8, 8, 2, 4, 4]] },
    ],
    fc6: 16,
    classes: 10,
    size: [32, 32],
    poolBranch: 'proj-pool',
  },
  /**
   * The judge: a VGG-style network (plain 3x3 convolutions, 2x2 pooling, no inception branches) that the
   * quality benchmark uses to score the learned priors, independent of the embedded GoogLeNet they were made with.
   */
  vgg32: {
    stem: [],
    stages: [
      { name: '1', modules: [32] },
      { name: '2', modules: [64, 64] },
      { name: '3', modules: [128, 128] },
    ],
    fc6: 256,
    classes: 10,
    size: [32, 32],
    downsampleKernel: 2,
  },
  googlenet32s: {
    stem: [48],
    stages: [
      { name: '3', modules: [[16, 24, 32, 4, 8, 8]] },
      { name: '4', modules: [[32, 32, 48, 8, 16, 16], [48, 48, 64, 8, 16, 16]] },
      { name: '5', modules: [[64, 64, 96, 16, 32, 32], [80, 80, 128, 16, 32, 32]] },
    ],
    fc6: 256,
    classes: 10,
    size: [32, 32],
    poolBranch: 'proj-pool',
  },
  googlenet32: {
    stem: [64],
    stages: [
      { name: '3', modules: [[16, 24, 32, 4, 8, 8]] },
      { name: '4', modules: [[32, 48, 64, 8, 16, 16], [48, 64, 96, 16, 24, 24]] },
      { name: '5', modules: [[64, 96, 128, 16, 32, 32], [96, 96, 160, 24, 48, 48]] },
    ],
    fc6: 256,
    classes: 10,
    size: [32, 32],
    poolBranch: 'proj-pool',
  },
  googlenet32l: {
    stem: [64],
    stages: [
      { name: '3', modules: [[32, 48, 64, 8, 16, 16], [48, 64, 96, 16, 24, 24]] },
      { name: '4', modules: [[64, 64, 128, 16, 32, 32], [96, 96, 160, 24, 48, 48]] },
      { name: '5', modules: [[128, 128, 192, 32, 64, 64], [160, 160, 256, 32, 64, 64]] },
    ],
    fc6: 512,
    classes: 10,
    size: [32, 32],
    poolBranch: 'proj-pool',
  },
};

function inception(net: NetBuilder, name: string, x: string, w: InceptionWidths, poolBranch: 'pool-proj' | 'proj-pool'): string {
  const [n1, n3r, n3, n5r, n5, pp] = w;
  const b1 = net.convBnRelu(`${name}/1x1`, x, n1, 1);
  const b3 = net.convBnRelu(`${name}/3x3`, net.convBnRelu(`${name}/3x3_reduce`, x, n3r, 1), n3, 3);
  const b5 = net.convBnRelu(`${name}/5x5`, net.convBnRelu(`${name}/5x5_reduce`, x, n5r, 1), n5, 5);
  const bp =
    poolBranch === 'pool-proj'
      ? net.convBnRelu(`${name}/pool_proj`, net.maxPool(`${name}/pool`, x, 3, 1, 1), pp, 1)
      : net.maxPool(`${name}/pool`, net.convBnRelu(`${name}/pool_proj`, x, pp, 1), 3, 1, 1);
  return net.concat(`${name}/output`, [b1, b3, b5, bp]);
}

export interface BuiltNet {
  model: Model;
  net: NetBuilder;
}

/** The network as a graph with input 'data' (N x 3 x H x W, normalized) and output 'logits' (+ 'prob' in inference). */
export function buildClassifier(cfg: ClassifierConfig, mode: NetMode, batch: Dim): BuiltNet {
  const net = new NetBuilder(mode, batch, { name: CLASSIFIER_INPUT, channels: 3, height: cfg.size[0], width: cfg.size[1] });
  let x = CLASSIFIER_INPUT;
  cfg.stem.forEach((c, i) => {
    x = net.convBnRelu(`conv${i + 1}`, x, c, 3);
  });
  cfg.stages.forEach((stage, s) => {
    const k = cfg.downsampleKernel ?? 3;
    if (s > 0) x = net.maxPool(`pool${stage.name}`, x, k, 2, k === 3 ? 1 : 0);
    stage.modules.forEach((w, m) => {
      x =
        typeof w === 'number'
          ? net.convBnRelu(`conv${stage.name}_${m + 1}`, x, w, 3)
          : inception(net, `inception_${stage.name}${String.fromCharCode(97 + m)}`, x, w, cfg.poolBranch ?? 'pool-proj');
    });
  });
  x = net.globalAvgPool('pool_global', x);
  x = net.fc(CODE_LAYER, x, cfg.fc6, true);
  const logits = net.fc(LOGITS, x, cfg.classes, false);
  const outputs = [logits];
  if (mode.kind === 'infer') outputs.push(net.softmax(PROB, logits));
  return { model: net.finish(outputs), net };
}

/** Multiply-accumulates of one forward pass per image (convolutions and fully connected layers). */
export function forwardMacs(model: Model): number {
  const g = model.graph;
  let macs = 0;
  for (const n of g.nodes) {
    if (n.opType === 'Conv') {
      const w = g.initializers.get(n.inputs[1]!)?.dims ?? (g.valueTypes.get(n.inputs[1]!)?.shape as number[]);
      const y = g.valueTypes.get(n.outputs[0]!)!.shape as number[];
      macs += w.reduce((a, d) => a * d, 1) * y[2]! * y[3]!;
    } else if (n.opType === 'Gemm') {
      const w = g.initializers.get(n.inputs[1]!)?.dims ?? (g.valueTypes.get(n.inputs[1]!)?.shape as number[]);
      macs += w[0]! * w[1]!;
    }
  }
  return macs;
}
