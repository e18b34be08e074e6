// `fviz eval`: a classifier (by name or path) on a labelled dataset.
import { FvizError } from '../../errors.ts';
import { resolveClassifier } from '../../models/registry.ts';
import { openDataset, type Split } from '../../dataset/open.ts';
import { evenIndices, subset } from '../../dataset/image-set.ts';
import { readModel } from '../../onnx/proto.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import { evaluateClassifier, normalizationFor, type Accuracy } from './evaluate.ts';

export interface EvaluateModelOptions extends Omit<SessionOptions, 'source'> {
  /** Classifier name or path, as --model takes. */
  model: string;
  /** 'cifar10', a CIFAR-10 binary folder, or an image folder. */
  data: string;
  split: Split;
  /** Evaluate on this many images, evenly spread over the split. */
  limit?: number;
  batchSize: number;
  onStatus?: (message: string) => void;
  warn?: (message: string) => void;
}

export interface EvaluateModelResult extends Accuracy {
  modelPath: string;
  /** The card's name of the classifier. */
  name: string;
  /** The dataset as openDataset describes it. */
  description: string;
  classes: string[];
  seconds: number;
}

export async function evaluateModel(o: EvaluateModelOptions): Promise<EvaluateModelResult> {
  const clf = resolveClassifier(o.model);
  const { set: full, description } = await openDataset(o.data, {
    split: o.split,
    height: clf.card.input.size[0],
    width: clf.card.input.size[1],
    onStatus: o.onStatus,
  });
  const set = o.limit ? subset(full, evenIndices(full.n, o.limit)) : full;
  if (clf.labels && clf.labels.length !== set.classes.length)
    throw new FvizError(`the model has ${clf.labels.length} labels, the dataset ${set.classes.length} classes`);
  if (clf.labels && clf.labels.some((l, i) => l !== set.classes[i]))
    o.warn?.(`model labels (${clf.labels.join(', ')}) differ from the dataset's class folders (${set.classes.join(', ')}); comparing by index`);
  const model = readModel(clf.modelPath);
  const output = clf.card.preSoftmax && model.graph.outputs.some((v) => v.name === clf.card.preSoftmax) ? clf.card.preSoftmax : undefined;
  const t0 = performance.now();
  const acc = await evaluateClassifier(model, set, { norm: normalizationFor(clf.card.input), batchSize: o.batchSize, output, threads: o.threads, device: o.device });
  return { ...acc, modelPath: clf.modelPath, name: clf.card.name, description, classes: set.classes, seconds: (performance.now() - t0) / 1000 };
}
