// A tiny float32 conv net with readable tensor names, for objective tests:
//   image [N,3,6,6] -> conv1 [N,4,6,6] -> Tanh 'block1/3x3-reduce' -> conv2 (stride 2) [N,5,3,3]
//   -> Tanh 'act2:0' -> GlobalAveragePool 'pool' -> Flatten 'flat' [N,5] -> Gemm 'logits' [N,3] -> Softmax 'prob'
// Tanh rather than Relu keeps it smooth, so finite differences have no kinks to trip on.
import { GraphBuilder } from '../../src/onnx/builder.ts';
import type { Model } from '../../src/onnx/ir.ts';
import { emptyGraph, emptyModel } from '../../src/onnx/ir.ts';
import { prepareModel } from '../../src/onnx/prepare.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomWeights } from './models.ts';

export const TINY_LABELS = ['n07720875 bell pepper', 'n02123045 tabby, tabby cat', 'goldfish, Carassius auratus'];

export function tinyCnn(batch = 2, seed = 5): Model {
  const rng = new Rng(seed);
  const g = emptyGraph('tiny');
  const b = new GraphBuilder(g);
  g.inputs.push({ name: 'image', dtype: 'float32', shape: [batch, 3, 6, 6] });
  const w = (name: string, dims: number[], fanIn?: number) => {
    g.initializers.set(name, randomWeights(rng, dims, fanIn));
    return name;
  };
  b.node('Conv', ['image', w('conv1.W', [4, 3, 3, 3]), w('conv1.b', [4], 1)], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }, ['conv1']);
  b.node('Tanh', ['conv1'], {}, ['block1/3x3-reduce']);
  b.node(
    'Conv',
    ['block1/3x3-reduce', w('conv2.W', [5, 4, 3, 3]), w('conv2.b', [5], 1)],
    { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] }, strides: { ints: [2, 2] } },
    ['conv2'],
  );
  b.node('Tanh', ['conv2'], {}, ['act2:0']);
  b.node('GlobalAveragePool', ['act2:0'], {}, ['pool']);
  b.node('Flatten', ['pool'], {}, ['flat']);
  b.node('Gemm', ['flat', w('fc.W', [3, 5]), w('fc.b', [3], 1)], { transB: { i: 1 } }, ['logits']);
  b.node('Softmax', ['logits'], { axis: { i: 1 } }, ['prob']);
  g.outputs = [{ name: 'prob', dtype: 'float32', shape: [] }];
  return prepareModel(emptyModel(g));
}
