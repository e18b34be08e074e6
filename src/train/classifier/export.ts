// The trained classifier as a plain inference model (batch normalization folded into the convolutions,
// symbolic batch) and its card.
import type { ClassifierCard } from '../../classifier/card.ts';
import type { Model } from '../../onnx/ir.ts';
import { buildClassifier, CLASSIFIER_INPUT, CODE_LAYER, LOGITS, PROB, type ClassifierConfig } from './net.ts';
import type { RunningStats } from '../net.ts';

export function inferenceModel(cfg: ClassifierConfig, params: Map<string, Float32Array>, stats: Map<string, RunningStats>): Model {
  const { model } = buildClassifier(cfg, { kind: 'infer', params, stats }, 'batch');
  model.metadata = { ...model.metadata, 'fviz.kind': 'classifier', 'fviz.architecture': JSON.stringify(cfg) };
  return model;
}

/** Per-channel statistics of CIFAR-10's training images in [0,1] (the normalization the model expects). */
export const CIFAR10_MEAN: [number, number, number] = [0.4914, 0.4822, 0.4465];
export const CIFAR10_STD: [number, number, number] = [0.247, 0.2435, 0.2616];

export interface CardFacts {
  name: string;
  modelFile: string;
  labels: string[];
  mean: [number, number, number];
  std: [number, number, number];
  size: [number, number];
  [key: string]: unknown;
}

export function classifierCard(f: CardFacts): ClassifierCard {
  const { name, modelFile, labels, mean, std, size, ...rest } = f;
  return {
    name,
    model: modelFile,
    input: { channels: 'RGB', range: [0, 1], mean, std, size },
    labels,
    preSoftmax: LOGITS,
    codeLayer: CODE_LAYER,
    inputTensor: CLASSIFIER_INPUT,
    probabilities: PROB,
    ...rest,
  };
}
