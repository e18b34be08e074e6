// Small image classifiers for input-size tests, written with fviz's own builder: a Conv + Relu, then a
// ViT-style token reshape computed from the activation's shape (Shape -> Gather -> Concat -> Reshape),
// a mean over tokens and a Gemm to 'logits'. Any input dim may be static, named ('height') or unnamed ('').
import { GraphBuilder } from '../../src/onnx/builder.ts';
import type { Dim, Model } from '../../src/onnx/ir.ts';
import { emptyGraph, emptyModel } from '../../src/onnx/ir.ts';
import { tensor } from '../../src/onnx/tensor.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomWeights } from './models.ts';

export interface ImageModelOptions {
  /** Input shape, NCHW or NHWC (channels 3); strings are symbolic dims, '' an unnamed one. */
  shape: Dim[];
  layout?: 'NCHW' | 'NHWC';
  classes?: number;
  seed?: number;
  opset?: number;
}

export function imageModel(o: ImageModelOptions): Model {
  const rng = new Rng(o.seed ?? 5);
  const g = emptyGraph('image_model');
  g.inputs = [{ name: 'image', dtype: 'float32', shape: [...o.shape] }];
  const b = new GraphBuilder(g);
  const w = (dims: number[]) => b.constant(randomWeights(rng, dims), 'w');
  const ints = (v: number[]) => b.constant(tensor('int64', [v.length], v), 'ints');
  let x = 'image';
  if (o.layout === 'NHWC') x = b.op('Transpose', [x], { perm: { ints: [0, 3, 1, 2] } }, 'to_nchw');
  const conv = b.op('Conv', [x, w([8, 3, 3, 3]), w([8])], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }, 'conv');
  const act = b.op('Relu', [conv], {}, 'relu');
  // tokens = act.reshape(N, C, H * W), as ViT exports compute it from the activation's shape
  const shape = b.op('Shape', [act], {}, 'shape');
  const nc = b.op('Gather', [shape, ints([0, 1])], { axis: { i: 0 } }, 'gather');
  const target = b.op('Concat', [nc, ints([-1])], { axis: { i: 0 } }, 'concat');
  const tokens = b.op('Reshape', [act, target], {}, 'tokens');
  const pooled = b.op('ReduceMean', [tokens], { axes: { ints: [2] }, keepdims: { i: 0 } }, 'pool');
  b.node('Gemm', [pooled, w([o.classes ?? 10, 8]), w([o.classes ?? 10])], { transB: { i: 1 } }, ['logits'], 'fc');
  g.outputs = [{ name: 'logits', dtype: 'float32', shape: [o.shape[0]!, o.classes ?? 10] }];
  const m = emptyModel(g, o.opset ?? 13);
  m.irVersion = 7;
  return m;
}
