// Small models for compare/report tests, written to disk with their cards: a 32x32 CIFAR-style
// classifier (conv, relu, max-pool, conv, relu, global pool, logits, softmax), a second one with other
// weights as the independent judge, and a generator from a 16-number code to a 32x32 image.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompareOptions } from '../../src/compare/compare.ts';
import { GraphBuilder } from '../../src/onnx/builder.ts';
import { emptyGraph, emptyModel } from '../../src/onnx/ir.ts';
import { saveModel } from '../../src/onnx/proto.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomWeights } from './models.ts';

export const COMPARE_LABELS = ['airplane', 'cat', 'dog', 'ship'];
export const SIZE = 32;
export const CODE = 16;

function classifier(path: string, seed: number): void {
  const rng = new Rng(seed);
  const g = emptyGraph('compare-classifier');
  const b = new GraphBuilder(g);
  g.inputs.push({ name: 'input', dtype: 'float32', shape: ['batch', 3, SIZE, SIZE] });
  const w = (name: string, dims: number[], fanIn?: number) => {
    g.initializers.set(name, randomWeights(rng, dims, fanIn));
    return name;
  };
  const pad = { pads: { ints: [1, 1, 1, 1] }, kernel_shape: { ints: [3, 3] } };
  b.node('Conv', ['input', w('conv1.W', [8, 3, 3, 3]), w('conv1.b', [8], 1)], pad, ['conv1']);
  b.node('Relu', ['conv1'], {}, ['relu1']);
  b.node('MaxPool', ['relu1'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }, ['pool1']);
  b.node('Conv', ['pool1', w('conv2.W', [12, 8, 3, 3]), w('conv2.b', [12], 1)], pad, ['conv2']);
  b.node('Relu', ['conv2'], {}, ['relu2']);
  b.node('GlobalAveragePool', ['relu2'], {}, ['gap']);
  b.node('Flatten', ['gap'], {}, ['flat']);
  b.node('Gemm', ['flat', w('fc.W', [COMPARE_LABELS.length, 12]), w('fc.b', [COMPARE_LABELS.length], 1)], { transB: { i: 1 } }, ['logits']);
  b.node('Softmax', ['logits'], { axis: { i: 1 } }, ['prob']);
  g.outputs = [{ name: 'prob', dtype: 'float32', shape: ['batch', COMPARE_LABELS.length] }];
  saveModel(emptyModel(g), path);
  const card = {
    name: `compare test classifier ${seed}`,
    model: path.split('/').pop(),
    input: { channels: 'RGB', range: [0, 1], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], size: [SIZE, SIZE] },
    labels: COMPARE_LABELS,
    preSoftmax: 'logits',
  };
  writeFileSync(path.replace(/\.onnx$/, '.card.json'), JSON.stringify(card, null, 2));
}

function generator(path: string, seed: number): void {
  const rng = new Rng(seed);
  const g = emptyGraph('compare-generator');
  const b = new GraphBuilder(g);
  g.inputs.push({ name: 'code', dtype: 'float32', shape: [1, CODE] });
  g.initializers.set('fc1.W', randomWeights(rng, [64, CODE]));
  g.initializers.set('fc2.W', randomWeights(rng, [3 * 8 * 8, 64]));
  g.initializers.set('up.W', randomWeights(rng, [3, 3, 4, 4], 12));
  b.node('Gemm', ['code', 'fc1.W'], { transB: { i: 1 } }, ['h1']);
  b.node('LeakyRelu', ['h1'], { alpha: { f: 0.2 } }, ['a1']);
  b.node('Gemm', ['a1', 'fc2.W'], { transB: { i: 1 } }, ['h2']);
  b.node('Reshape', ['h2', b.constant({ dtype: 'int64', dims: [4], data: BigInt64Array.from([1n, 3n, 8n, 8n]) })], {}, ['small']);
  b.node('Resize', ['small', '', b.constant({ dtype: 'float32', dims: [4], data: Float32Array.from([1, 1, 4, 4]) })], { mode: { s: 'nearest' } }, ['big']);
  b.node('Tanh', ['big'], {}, ['image']);
  g.outputs = [{ name: 'image', dtype: 'float32', shape: [1, 3, SIZE, SIZE] }];
  saveModel(emptyModel(g), path);
  const card = {
    name: 'compare test generator',
    model: 'generator.onnx',
    codeSize: CODE,
    output: { channels: 'RGB', range: [-1, 1], mean: [0, 0, 0], std: [1, 1, 1] },
    toClassifier: 'center-crop',
    dgn: { steps: 12, startStep: 1, endStep: 0.1, l2: 0.99 },
  };
  writeFileSync(path.replace(/\.onnx$/, '.card.json'), JSON.stringify(card, null, 2));
}

export interface CompareModels {
  classifier: string;
  judge: string;
  generator: string;
}

/** Writes the three models (and cards) under `dir`. */
export function writeCompareModels(dir: string): CompareModels {
  const paths = { classifier: join(dir, 'classifier.onnx'), judge: join(dir, 'judge', 'judge.onnx'), generator: join(dir, 'generator.onnx') };
  mkdirSync(join(dir, 'judge'), { recursive: true });
  classifier(paths.classifier, 11);
  classifier(paths.judge, 23);
  generator(paths.generator, 37);
  return paths;
}

/** The grid the compare tests run on these models: a class and a channel, DGN-AM beside two pixel methods, two seeds. */
export function compareGrid(models: CompareModels, out: string, steps: number): CompareOptions {
  return {
    model: models.classifier,
    generator: models.generator,
    judge: models.judge,
    objectives: ['class:cat', 'conv2:3'],
    methods: ['dgn', 'naive', 'tv'],
    seeds: 2,
    steps,
    out,
    threads: 1,
  };
}
