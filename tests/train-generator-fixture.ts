// Fixtures for the generator-training tests: a tiny random-weight classifier with its card (GoogLeNet-style
// 'tiny' preset: inception_4a/output as comparator, fc6 of 16 units as code) and a synthetic CIFAR folder.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_CLASSES } from '../src/dataset/cifar-binary.ts';
import { saveModel } from '../src/onnx/proto.ts';
import { buildClassifier, CLASSIFIER_PRESETS, LOGITS } from '../src/train/classifier/net.ts';
import { CIFAR10_MEAN, CIFAR10_STD, classifierCard, inferenceModel } from '../src/train/classifier/export.ts';
import { initParams, type RunningStats } from '../src/train/net.ts';
import { writeSyntheticCifar } from './helpers/cifar-synthetic.ts';

export const TINY_COMPARATOR = 'inception_4a/output';

/** Writes dir/classifier.onnx + classifier.card.json; returns the model path. */
export function writeTinyClassifier(dir: string, seed = 7): string {
  const cfg = { ...CLASSIFIER_PRESETS['tiny']!, classes: 10 };
  const { net } = buildClassifier(cfg, { kind: 'train' }, 1);
  const params = initParams(net.params, seed, `${LOGITS}/W`);
  const stats = new Map<string, RunningStats>(net.bns.map((b) => [b.layer, { mean: new Float32Array(b.channels), var: new Float32Array(b.channels).fill(1) }]));
  const path = join(dir, 'classifier.onnx');
  saveModel(inferenceModel(cfg, params, stats), path);
  const card = classifierCard({ name: 'tiny test classifier', modelFile: 'classifier.onnx', labels: CIFAR10_CLASSES, mean: CIFAR10_MEAN, std: CIFAR10_STD, size: [32, 32] });
  writeFileSync(join(dir, 'classifier.card.json'), JSON.stringify(card, null, 2));
  return path;
}

/** A synthetic CIFAR-10 binary folder: 5 x perBatch training images, perBatch test images. */
export function writeTinyData(dir: string, perBatch: number): string {
  const data = join(dir, 'cifar');
  writeSyntheticCifar(data, perBatch);
  return data;
}
