// The discriminator of Dosovitskiy & Brox 2016: it sees the image and the code it should come from. The
// image through stride-2 convolutions (leaky ReLU 0.2), the code through a fully connected layer; both
// concatenated, one hidden layer, one logit (real vs generated).
import { FvizError } from '../../errors.ts';
import type { Dim, Model } from '../../onnx/ir.ts';
import { emptyGraph, emptyModel } from '../../onnx/ir.ts';
import { inferShapes } from '../../onnx/shapes.ts';
import { tensor } from '../../onnx/tensor.ts';
import { LayerEmitter, leakyGain, type LayerParam } from './layers.ts';
import { resolvePreset } from '../presets.ts';

export interface DiscriminatorConfig {
  /** Output channels of the 4x4 stride-2 convolutions on the image. */
  convs: number[];
  /** Width of the code's fully connected layer. */
  codeFc: number;
  /** Width of the hidden layer after the concatenation. */
  hidden: number;
  slope: number;
}

export const DISCRIMINATOR_PREFIX = 'D/';

export const DISCRIMINATOR_PRESETS: Record<string, DiscriminatorConfig> = {
  tiny: { convs: [4, 8], codeFc: 8, hidden: 8, slope: 0.2 },
  cifar32: { convs: [32, 64, 128], codeFc: 256, hidden: 256, slope: 0.2 },
};

export function resolveDiscriminatorConfig(arch: string | DiscriminatorConfig | undefined): DiscriminatorConfig {
  return resolvePreset(DISCRIMINATOR_PRESETS, arch, 'cifar32', 'discriminator architecture');
}

/**
 * Emits D(image, code) -> logit [N, 1] into `layers`' graph. `image` is N x 3 x H x W in [0,1]; it is
 * centred to [-0.5, 0.5] first. Names start with `prefix`.
 */
export function emitDiscriminator(
  layers: LayerEmitter,
  image: string,
  code: string,
  codeSize: number,
  size: [number, number],
  cfg: DiscriminatorConfig,
  prefix = DISCRIMINATOR_PREFIX,
): string {
  const a = cfg.slope;
  const gain = leakyGain(a);
  const b = layers.b;
  const n = (s: string) => `${prefix}${s}`;
  let x = b.op('Sub', [image, b.constant(tensor('float32', [], [0.5]), n('half'))], {}, n('centred'));
  let c = 3;
  let [h, w] = size;
  cfg.convs.forEach((cout, i) => {
    x = layers.leaky(n(`conv${i + 1}/out`), layers.conv(n(`conv${i + 1}`), x, c, cout, 4, 2, 1, gain), a);
    c = cout;
    if (h % 2 || w % 2) throw new FvizError(`discriminator: ${size[0]}x${size[1]} cannot be halved ${cfg.convs.length} times`);
    h /= 2;
    w /= 2;
  });
  const flat = b.node('Flatten', [x], { axis: { i: 1 } }, [n('flat')])[0]!;
  const imageFeat = layers.leaky(n('image_fc/out'), layers.fc(n('image_fc'), flat, c * h * w, cfg.hidden, gain), a);
  const codeFeat = layers.leaky(n('code_fc/out'), layers.fc(n('code_fc'), code, codeSize, cfg.codeFc, gain), a);
  const joint = b.node('Concat', [imageFeat, codeFeat], { axis: { i: 1 } }, [n('joint')])[0]!;
  const hidden = layers.leaky(n('hidden/out'), layers.fc(n('hidden'), joint, cfg.hidden + cfg.codeFc, cfg.hidden, gain), a);
  return layers.fc(n('logit'), hidden, cfg.hidden, 1, 1);
}

export function discriminatorParams(cfg: DiscriminatorConfig, codeSize: number, size: [number, number]): LayerParam[] {
  const layers = new LayerEmitter(emptyGraph('discriminator'));
  emitDiscriminator(layers, layers.input('d_image', ['batch', 3, ...size]), layers.input('d_code', ['batch', codeSize]), codeSize, size, cfg);
  return layers.params;
}

/** D as a standalone model (inputs 'd_image', 'd_code'; output 'd_logit'), for inspection and tests. */
export function buildDiscriminator(cfg: DiscriminatorConfig, codeSize: number, size: [number, number], params: Map<string, Float32Array>, batch: Dim = 'batch'): Model {
  const g = emptyGraph('fviz_discriminator');
  const layers = new LayerEmitter(g, params);
  const logit = emitDiscriminator(layers, layers.input('d_image', [batch, 3, ...size]), layers.input('d_code', [batch, codeSize]), codeSize, size, cfg);
  layers.b.node('Identity', [logit], {}, ['d_logit']);
  g.outputs = [{ name: 'd_logit', dtype: 'float32', shape: [batch, 1] }];
  inferShapes(g);
  return emptyModel(g);
}
