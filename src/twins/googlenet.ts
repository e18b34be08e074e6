// BVLC GoogLeNet (the deploy net of bvlc_googlenet.prototxt) with random weights: the layout, layer names and
// blob names of the network the paper visualizes, written out by hand. 224x224 input, LRN after the stem,
// Caffe's ceil-rounded pools, nine inception modules, 7x7 average pool, 1000-way classifier, softmax.
import type { Model } from '../onnx/ir.ts';
import type { LayerBlobs } from './init.ts';
import { TwinNet, type TwinOptions } from './twin-net.ts';

/** Output channels of one inception module's branches, as the prototxt gives them. */
interface Inception {
  name: string;
  c1x1: number;
  c3x3reduce: number;
  c3x3: number;
  c5x5reduce: number;
  c5x5: number;
  poolProj: number;
}

const M = (name: string, c1x1: number, c3x3reduce: number, c3x3: number, c5x5reduce: number, c5x5: number, poolProj: number): Inception => ({
  name,
  c1x1,
  c3x3reduce,
  c3x3,
  c5x5reduce,
  c5x5,
  poolProj,
});

const STAGE3 = [M('inception_3a', 64, 96, 128, 16, 32, 32), M('inception_3b', 128, 128, 192, 32, 96, 64)];
const STAGE4 = [
  M('inception_4a', 192, 96, 208, 16, 48, 64),
  M('inception_4b', 160, 112, 224, 24, 64, 64),
  M('inception_4c', 128, 128, 256, 24, 64, 64),
  M('inception_4d', 112, 144, 288, 32, 64, 64),
  M('inception_4e', 256, 160, 320, 32, 128, 128),
];
const STAGE5 = [M('inception_5a', 256, 160, 320, 32, 128, 128), M('inception_5b', 384, 192, 384, 48, 128, 128)];

export const GOOGLENET_INPUT = 224;

/** Convolution followed by its in-place ReLU: the conv writes `${top}__0`, the ReLU the blob itself. */
function convRelu(net: TwinNet, conv: string, relu: string, x: string, cout: number, k: number, s = 1, p = 0): string {
  return net.relu(relu, net.conv(conv, x, `${conv}__0`, cout, k, s, p), conv);
}

function inception(net: TwinNet, m: Inception, x: string): string {
  const n = m.name;
  const b1 = convRelu(net, `${n}/1x1`, `${n}/relu_1x1`, x, m.c1x1, 1);
  const r3 = convRelu(net, `${n}/3x3_reduce`, `${n}/relu_3x3_reduce`, x, m.c3x3reduce, 1);
  const b3 = convRelu(net, `${n}/3x3`, `${n}/relu_3x3`, r3, m.c3x3, 3, 1, 1);
  const r5 = convRelu(net, `${n}/5x5_reduce`, `${n}/relu_5x5_reduce`, x, m.c5x5reduce, 1);
  const b5 = convRelu(net, `${n}/5x5`, `${n}/relu_5x5`, r5, m.c5x5, 5, 1, 2);
  const pool = net.maxPool(`${n}/pool`, x, `${n}/pool`, 3, 1, 1);
  const bp = convRelu(net, `${n}/pool_proj`, `${n}/relu_pool_proj`, pool, m.poolProj, 1);
  return net.concat(`${n}/output`, [b1, b3, b5, bp], `${n}/output`);
}

function build(opts: TwinOptions): TwinNet {
  const net = new TwinNet('GoogleNet', opts);
  let x = net.input('data', [net.batch, 3, GOOGLENET_INPUT, GOOGLENET_INPUT]);
  x = convRelu(net, 'conv1/7x7_s2', 'conv1/relu_7x7', x, 64, 7, 2, 3);
  x = net.maxPool('pool1/3x3_s2', x, 'pool1/3x3_s2', 3, 2);
  x = net.lrn('pool1/norm1', x, 'pool1/norm1', 5, 0.0001, 0.75);
  x = convRelu(net, 'conv2/3x3_reduce', 'conv2/relu_3x3_reduce', x, 64, 1);
  x = convRelu(net, 'conv2/3x3', 'conv2/relu_3x3', x, 192, 3, 1, 1);
  x = net.lrn('conv2/norm2', x, 'conv2/norm2', 5, 0.0001, 0.75);
  x = net.maxPool('pool2/3x3_s2', x, 'pool2/3x3_s2', 3, 2);
  for (const m of STAGE3) x = inception(net, m, x);
  x = net.maxPool('pool3/3x3_s2', x, 'pool3/3x3_s2', 3, 2);
  for (const m of STAGE4) x = inception(net, m, x);
  x = net.maxPool('pool4/3x3_s2', x, 'pool4/3x3_s2', 3, 2);
  for (const m of STAGE5) x = inception(net, m, x);
  x = net.avgPool('pool5/7x7_s1', x, 'pool5/7x7_s1__0', 7, 1);
  x = net.identity('pool5/drop_7x7_s1', x, 'pool5/7x7_s1');
  x = net.innerProduct('loss3/classifier', x, 'loss3/classifier', 1000);
  net.softmax('prob', x, 'prob');
  return net;
}

/** The GoogLeNet twin as an ONNX model: input 'data' (N x 3 x 224 x 224, BGR, mean-subtracted), output 'prob'. */
export function googlenetTwin(opts: TwinOptions = {}): Model {
  const net = build(opts);
  const model = net.finish(['prob']);
  model.metadata['fviz.twin'] = `googlenet seed=${opts.seed ?? 0}`;
  return model;
}

/** The GoogLeNet twin's weights by Caffe layer name, in Caffe layouts: what its caffemodel would hold. */
export function googlenetTwinWeights(seed = 0): LayerBlobs {
  return build({ seed }).blobs;
}
