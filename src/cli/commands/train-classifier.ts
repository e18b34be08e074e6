// `fviz train classifier`: the GoogLeNet-style CIFAR classifier (see src/train/classifier/trainer.ts).
import { defineCommand } from './types.ts';
import { epochPrinter, formatSeconds } from '../../util/progress.ts';
import type { TrainProgress } from '../../train/classifier/trainer.ts';
import { CLASSIFIER_PRESETS } from '../../train/classifier/net.ts';
import { stoppedLine, trainRunArgs, trainRunOptions } from './train-run-options.ts';

function progressPrinter(): (p: TrainProgress) => void {
  return epochPrinter<TrainProgress>(
    (p) =>
      `epoch ${p.epoch}/${p.epochs} step ${p.stepInEpoch}/${p.stepsPerEpoch} (${p.step}/${p.totalSteps}) | loss ${p.loss.toFixed(4)} ` +
      `acc ${(100 * p.accuracy).toFixed(2)}% | lr ${p.lr.toPrecision(3)} | ${p.imagesPerSecond.toFixed(1)} img/s | ETA ${formatSeconds(p.etaSeconds)}`,
  );
}

export const classifierSubcommand = defineCommand(
  'classifier',
  'train the GoogLeNet-style CIFAR classifier (checkpoints, --resume, test accuracy per epoch)',
  (c) =>
    trainRunOptions(
      c
        .option('data', { type: 'string', default: 'cifar10', describe: "dataset: 'cifar10', a CIFAR-10 binary folder, or an image folder (with train/ and test/)" })
        .option('out', { type: 'string', demandOption: true, describe: 'output folder: checkpoints, classifier.onnx and its card' })
        .option('arch', { type: 'string', default: 'googlenet32', choices: Object.keys(CLASSIFIER_PRESETS), describe: 'architecture preset' })
        .option('epochs', { type: 'number', default: 15 })
        .option('batch', { type: 'number', default: 64 })
        .option('lr', { type: 'number', describe: 'peak learning rate (default 0.05 for sgd, 0.002 for adam)' })
        .option('optimizer', { choices: ['sgd', 'adam'] as const, default: 'sgd' as const })
        .option('momentum', { type: 'number', default: 0.9 })
        .option('weight-decay', { type: 'number', default: 5e-4 })
        .option('schedule', { choices: ['onecycle', 'cosine', 'constant'] as const, default: 'onecycle' as const })
        .option('warmup', { type: 'number', default: 2, describe: 'warm-up epochs (onecycle)' })
        .option('smoothing', { type: 'number', default: 0.1, describe: 'label smoothing' })
        .option('pad', { type: 'number', default: 4, describe: 'random-crop padding in pixels (0: no crops)' })
        .option('test-limit', { type: 'number', describe: 'evaluate on this many test images' })
        .option('eval', { type: 'boolean', default: true, describe: 'evaluate on the test split after each epoch (--no-eval skips)' }),
    ),
  async (a) => {
    const { trainClassifier } = await import('../../train/classifier/trainer.ts');
    const res = await trainClassifier({
      data: a.data,
      out: a.out,
      arch: a.arch,
      epochs: a.epochs,
      batchSize: a.batch,
      lr: a.lr,
      optimizer: a.optimizer,
      momentum: a.momentum,
      weightDecay: a['weight-decay'],
      schedule: a.schedule,
      warmupEpochs: a.warmup,
      labelSmoothing: a.smoothing,
      augment: { pad: a.pad, flip: a.flip },
      testLimit: a['test-limit'],
      noEval: !a.eval,
      ...trainRunArgs(a),
      onProgress: progressPrinter(),
      onEpoch: (e) =>
        console.log(
          `epoch ${e.epoch} done: train loss ${e.trainLoss.toFixed(4)} acc ${(100 * e.trainAccuracy).toFixed(2)}%` +
            (e.test ? ` | test acc ${(100 * e.test.accuracy).toFixed(2)}% loss ${e.test.loss.toFixed(4)} (${e.test.n} images)` : '') +
            ` | ${e.imagesPerSecond.toFixed(1)} img/s | wall ${formatSeconds(e.wallSeconds)}`,
        ),
    });
    const m = res.meta;
    console.log(
      res.interrupted
        ? stoppedLine(m.step, res.files.last)
        : `done: ${m.history.length} epochs, best test accuracy ${m.best ? (100 * m.best.accuracy).toFixed(2) + '%' : 'n/a'}${res.files.model ? `; model ${res.files.model}` : ''}`,
    );
  },
);
