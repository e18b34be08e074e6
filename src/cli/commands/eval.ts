import { defineCommand } from './types.ts';
import { FvizError } from '../../errors.ts';
import { MODEL_NAMES } from './models-arg.ts';

export const evalCommand = defineCommand(
  'eval',
  'accuracy of a classifier on a labelled dataset',
  (c) =>
    c
      .option('model', { type: 'string', default: 'embedded', describe: `classifier: ${MODEL_NAMES}` })
      .option('data', { type: 'string', default: 'cifar10', describe: "dataset: 'cifar10', a CIFAR-10 binary folder, or an image folder" })
      .option('split', { choices: ['test', 'train'] as const, default: 'test' as const })
      .option('limit', { type: 'number', describe: 'evaluate on this many images, evenly spread over the split' })
      .option('batch', { type: 'number', default: 250 })
      .option('json', { type: 'boolean', describe: 'print JSON' }),
  async (a) => {
    const [{ resolveClassifier }, { openDataset }, { evenIndices, subset }, { evaluateClassifier, normalizationFor }, { readModel }] = await Promise.all([
      import('../../models/registry.ts'),
      import('../../dataset/open.ts'),
      import('../../dataset/image-set.ts'),
      import('../../train/evaluate.ts'),
      import('../../onnx/proto.ts'),
    ]);
    const clf = resolveClassifier(a.model);
    const { set: full, description } = await openDataset(a.data, {
      split: a.split,
      height: clf.card.input.size[0],
      width: clf.card.input.size[1],
      onStatus: (m) => process.stderr.write(`${m}\n`),
    });
    const set = a.limit ? subset(full, evenIndices(full.n, a.limit)) : full;
    if (clf.labels && clf.labels.length !== set.classes.length)
      throw new FvizError(`the model has ${clf.labels.length} labels, the dataset ${set.classes.length} classes`);
    if (clf.labels && clf.labels.some((l, i) => l !== set.classes[i]))
      process.stderr.write(`warning: model labels (${clf.labels.join(', ')}) differ from the dataset's class folders (${set.classes.join(', ')}); comparing by index\n`);
    const model = readModel(clf.modelPath);
    const output = clf.card.preSoftmax && model.graph.outputs.some((o) => o.name === clf.card.preSoftmax) ? clf.card.preSoftmax : undefined;
    const t0 = performance.now();
    const acc = await evaluateClassifier(model, set, {
      norm: normalizationFor(clf.card.input),
      batchSize: a.batch,
      output,
      threads: a.threads,
      device: a.device,
    });
    const secs = (performance.now() - t0) / 1000;
    if (a.json) {
      console.log(JSON.stringify({ model: clf.modelPath, data: description, ...acc, seconds: secs }));
    } else {
      console.log(`${clf.card.name}: accuracy ${(100 * acc.accuracy).toFixed(2)}% (${acc.correct}/${acc.n}) on ${description}${a.limit ? `, limited to ${set.n}` : ''}, ${(set.n / secs).toFixed(0)} images/s`);
      console.log(`per class: ${set.classes.map((c, i) => `${c} ${(100 * acc.perClass[i]!).toFixed(1)}%`).join(', ')}`);
    }
  },
);
