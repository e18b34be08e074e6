// Nguyen et al.'s fc6 deep generator network (Dosovitskiy & Brox), laid out as dgn-fc6-generator.prototxt has
// it, with random weights: a 4096-d code through three 4096 fully-connected layers with leaky ReLU 0.3,
// reshaped to 256x4x4, then five stride-2 deconvolutions (4x4 kernels) interleaved with three stride-1 ones
// (3x3) up to a 3x256x256 image ('deconv0', no final nonlinearity).
import type { Model } from '../onnx/ir.ts';
import type { LayerBlobs } from './init.ts';
import { TwinNet, type TwinOptions } from './twin-net.ts';

export const FC6_CODE_SIZE = 4096;
const SLOPE = 0.3;

/** [layer, output channels, kernel, stride]; every one pads by 1 and is followed by relu_<layer>, except deconv0. */
const DECONVS: Array<[string, number, number, number]> = [
  ['deconv5', 256, 4, 2],
  ['conv5_1', 512, 3, 1],
  ['deconv4', 256, 4, 2],
  ['conv4_1', 256, 3, 1],
  ['deconv3', 128, 4, 2],
  ['conv3_1', 128, 3, 1],
  ['deconv2', 64, 4, 2],
  ['deconv1', 32, 4, 2],
  ['deconv0', 3, 4, 2],
];

function build(opts: TwinOptions): TwinNet {
  const net = new TwinNet('fc6-generator', opts);
  let x = net.input('feat', [net.batch, FC6_CODE_SIZE]);
  for (const fc of ['defc7', 'defc6', 'defc5']) {
    x = net.innerProduct(fc, x, `${fc}__0`, 4096);
    x = net.relu(`relu_${fc}`, x, fc, SLOPE);
  }
  x = net.reshape('reshape', x, 'reshape_defc5', [net.batch, 256, 4, 4]);
  for (const [name, cout, k, s] of DECONVS) {
    const last = name === 'deconv0';
    x = net.deconv(name, x, last ? name : `${name}__0`, cout, k, s, 1);
    if (!last) x = net.relu(`relu_${name}`, x, name, SLOPE);
  }
  return net;
}

/** The generator twin: input 'feat' (N x 4096), output 'deconv0' (N x 3 x 256 x 256). */
export function fc6GeneratorTwin(opts: TwinOptions = {}): Model {
  const model = build(opts).finish(['deconv0']);
  model.metadata['fviz.twin'] = `fc6-generator seed=${opts.seed ?? 0}`;
  return model;
}

export function fc6GeneratorTwinWeights(seed = 0): LayerBlobs {
  return build({ seed }).blobs;
}
