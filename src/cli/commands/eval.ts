import { defineCommand } from './types.ts';
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
    const { evaluateModel } = await import('../../train/classifier/evaluate-model.ts');
    const r = await evaluateModel({
      model: a.model,
      data: a.data,
      split: a.split,
      limit: a.limit,
      batchSize: a.batch,
      threads: a.threads,
      device: a.device,
      onStatus: (m) => process.stderr.write(`${m}\n`),
      warn: (m) => process.stderr.write(`warning: ${m}\n`),
    });
    if (a.json) {
      console.log(JSON.stringify({ model: r.modelPath, data: r.description, correct: r.correct, n: r.n, accuracy: r.accuracy, perClass: r.perClass, loss: r.loss, seconds: r.seconds }));
    } else {
      console.log(`${r.name}: accuracy ${(100 * r.accuracy).toFixed(2)}% (${r.correct}/${r.n}) on ${r.description}${a.limit ? `, limited to ${r.n}` : ''}, ${(r.n / r.seconds).toFixed(0)} images/s`);
      console.log(`per class: ${r.classes.map((c, i) => `${c} ${(100 * r.perClass[i]!).toFixed(1)}%`).join(', ')}`);
    }
  },
);
