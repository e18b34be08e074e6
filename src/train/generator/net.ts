// The generator (Dosovitskiy & Brox 2016, as Nguyen et al. used it for DGN-AM) at 32 x 32: the classifier's
// code through fully connected layers, reshaped to a small map, then stride-2 transposed convolutions
// (4x4 kernels), each followed by a 3x3 convolution, leaky ReLU 0.3 throughout as Nguyen's fc6 generator;
// a last 3x3 convolution to RGB and a sigmoid, so the image is in [0,1] whatever the code.
import { FvizError } from '../../errors.ts';
import type { Dim, Model } from '../../onnx/ir.ts';
import { emptyGraph, emptyModel } from '../../onnx/ir.ts';
import { inferShapes } from '../../onnx/shapes.ts';
import { LayerEmitter, leakyGain, type LayerParam } from './layers.ts';
import { resolvePreset } from '../presets.ts';

export interface GeneratorConfig {
  /** Widths of the fully connected layers after the code (each with leaky ReLU); then one to base x h0 x w0. */
  fc: number[];
  /** Channels of the first map (h0 = size / 2^stages). */
  base: number;
  /** Output channels of each stride-2 transposed convolution. */
  stages: number[];
  /** A 3x3 convolution (same width) after each transposed convolution, as conv5_1 ... in Nguyen's generator. */
  refine: boolean;
  size: [number, number];
  /** 'sigmoid': image in (0,1); 'linear': unbounded (clip when displaying). */
  output: 'sigmoid' | 'linear';
  slope: number;
}

export const GENERATOR_CODE = 'code';
export const GENERATOR_IMAGE = 'image';
export const GENERATOR_PREFIX = 'G/';

export const GENERATOR_PRESETS: Record<string, GeneratorConfig> = {
  /** For tests: a few thousand weights. */
  tiny: { fc: [], base: 8, stages: [8, 4, 4], refine: false, size: [32, 32], output: 'sigmoid', slope: 0.3 },
  /** The embedded generator. */
  cifar32: { fc: [512], base: 256, stages: [128, 64, 32], refine: true, size: [32, 32], output: 'sigmoid', slope: 0.3 },
  /** Half the width: ~3x faster to train. */
  cifar32s: { fc: [512], base: 128, stages: [96, 48, 24], refine: true, size: [32, 32], output: 'sigmoid', slope: 0.3 },
};

export function resolveGeneratorConfig(arch: string | GeneratorConfig | undefined): GeneratorConfig {
  return resolvePreset(GENERATOR_PRESETS, arch, 'cifar32', 'generator architecture');
}

function startSize(cfg: GeneratorConfig): [number, number] {
  const f = 2 ** cfg.stages.length;
  const [h, w] = cfg.size;
  if (h % f || w % f) throw new FvizError(`generator: size ${h}x${w} is not divisible by 2^${cfg.stages.length}`);
  return [h / f, w / f];
}

/**
 * Emits the generator reading the code `code` (N x codeSize) into `layers`' graph; returns the image value
 * (N x 3 x H x W, named `<prefix>image`). Parameter names start with `prefix`.
 */
export function emitGenerator(layers: LayerEmitter, code: string, codeSize: number, cfg: GeneratorConfig, prefix = GENERATOR_PREFIX): string {
  const a = cfg.slope;
  const gain = leakyGain(a);
  const [h0, w0] = startSize(cfg);
  let x = code;
  let width = codeSize;
  cfg.fc.forEach((f, i) => {
    x = layers.leaky(`${prefix}fc${i + 1}/out`, layers.fc(`${prefix}fc${i + 1}`, x, width, f, gain), a);
    width = f;
  });
  x = layers.leaky(`${prefix}fc_map/out`, layers.fc(`${prefix}fc_map`, x, width, cfg.base * h0 * w0, gain), a);
  x = layers.reshape(`${prefix}map`, x, [-1, cfg.base, h0, w0]);
  let c = cfg.base;
  cfg.stages.forEach((cout, i) => {
    const s = cfg.stages.length - i;
    x = layers.leaky(`${prefix}deconv${s}/out`, layers.deconv(`${prefix}deconv${s}`, x, c, cout, 4, 2, 1, gain), a);
    c = cout;
    if (cfg.refine) x = layers.leaky(`${prefix}conv${s}_1/out`, layers.conv(`${prefix}conv${s}_1`, x, c, c, 3, 1, 1, gain), a);
  });
  // Gain 1 and a linear pre-activation: the sigmoid starts near 0.5 (mid grey) with a small spread.
  x = layers.conv(`${prefix}to_rgb`, x, c, 3, 3, 1, 1, cfg.output === 'sigmoid' ? 1 : 0.25);
  const out = `${prefix}${GENERATOR_IMAGE}`;
  if (cfg.output === 'sigmoid') return layers.b.node('Sigmoid', [x], {}, [out])[0]!;
  return layers.b.node('Identity', [x], {}, [out])[0]!;
}

/** The parameters (names, shapes, initial scales) of a generator. */
export function generatorParams(cfg: GeneratorConfig, codeSize: number): LayerParam[] {
  const g = emptyGraph('generator');
  const layers = new LayerEmitter(g);
  emitGenerator(layers, layers.input(GENERATOR_CODE, ['batch', codeSize]), codeSize, cfg);
  return layers.params;
}

/** The standalone generator: input 'code' [batch, codeSize], output 'image' [batch, 3, H, W], trained weights inside. */
export function buildGenerator(cfg: GeneratorConfig, codeSize: number, params: Map<string, Float32Array>, batch: Dim = 'batch'): Model {
  const g = emptyGraph('fviz_generator');
  const layers = new LayerEmitter(g, params);
  const img = emitGenerator(layers, layers.input(GENERATOR_CODE, [batch, codeSize]), codeSize, cfg);
  layers.b.node('Identity', [img], {}, [GENERATOR_IMAGE]);
  g.outputs = [{ name: GENERATOR_IMAGE, dtype: 'float32', shape: [batch, 3, ...cfg.size] }];
  inferShapes(g);
  const m = emptyModel(g);
  m.metadata = { 'fviz.kind': 'generator', 'fviz.architecture': JSON.stringify(cfg) };
  return m;
}

/** Multiply-accumulates of one generator pass per image. */
export function generatorMacs(cfg: GeneratorConfig, codeSize: number): number {
  let macs = 0;
  let width = codeSize;
  for (const f of cfg.fc) {
    macs += width * f;
    width = f;
  }
  let [h, w] = startSize(cfg);
  macs += width * cfg.base * h * w;
  let c = cfg.base;
  for (const cout of cfg.stages) {
    macs += c * cout * 16 * h * w;
    h *= 2;
    w *= 2;
    c = cout;
    if (cfg.refine) macs += c * c * 9 * h * w;
  }
  return macs + c * 3 * 9 * h * w;
}
