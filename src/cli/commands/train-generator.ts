// `fviz train generator`: the DGN generator for a classifier's code layer (see src/train/generator/trainer.ts).
import { defineCommand } from './types.ts';
import { MODEL_NAMES } from './models-arg.ts';
import { epochPrinter, formatSeconds } from '../../util/progress.ts';
import { stoppedLine, trainRunArgs, trainRunOptions } from './train-run-options.ts';
import { GENERATOR_PRESETS } from '../../train/generator/net.ts';
import { DISCRIMINATOR_PRESETS } from '../../train/generator/discriminator.ts';
import { DEFAULT_COMPARATOR, DEFAULT_DGN, DEFAULT_DGN_START_STEPS, DEFAULT_LOSS_WEIGHTS, type GeneratorProgress } from '../../train/generator/trainer.ts';

function progressPrinter(): (p: GeneratorProgress) => void {
  return epochPrinter<GeneratorProgress>(
    (p) =>
      `epoch ${p.epoch}/${p.epochs} step ${p.stepInEpoch}/${p.stepsPerEpoch} (${p.step}/${p.totalSteps}) | loss ${p.loss.toFixed(4)} ` +
      `pix ${p.pixel.toFixed(4)} feat ${p.feature.toFixed(4)} adv ${p.adversarial.toFixed(3)} D ${p.discriminator.toFixed(3)} (upd ${(100 * p.dUpdates).toFixed(0)}%) | ` +
      `lr ${p.lr.toPrecision(3)} | ${p.imagesPerSecond.toFixed(1)} img/s | ETA ${formatSeconds(p.etaSeconds)}`,
  );
}

export const generatorSubcommand = defineCommand(
  'generator',
  'train a DGN generator for a classifier’s code layer (pixel + feature + adversarial loss; checkpoints, --resume)',
  (c) =>
    trainRunOptions(
      c
        .option('classifier', { type: 'string', default: 'models/embedded/classifier.onnx', describe: `the frozen classifier (with its card): encoder and comparator; ${MODEL_NAMES}` })
        .option('data', { type: 'string', default: 'cifar10', describe: "dataset: 'cifar10', a CIFAR-10 binary folder, or an image folder (with train/ and test/)" })
        .option('out', { type: 'string', demandOption: true, describe: 'output folder: checkpoints, generator.onnx, its card, bounds and sheets' })
        .option('arch', { type: 'string', default: 'cifar32', choices: Object.keys(GENERATOR_PRESETS), describe: 'generator preset' })
        .option('discriminator', { type: 'string', default: 'cifar32', choices: Object.keys(DISCRIMINATOR_PRESETS), describe: 'discriminator preset' })
        .option('comparator', { type: 'string', default: DEFAULT_COMPARATOR, describe: 'classifier tensor for the feature loss' })
        .option('code-layer', { type: 'string', describe: "code layer (default: the classifier card's codeLayer)" })
        .option('epochs', { type: 'number', default: 15 })
        .option('batch', { type: 'number', default: 64 })
        .option('lr', { type: 'number', default: 1e-3, describe: 'Adam learning rate of the generator' })
        .option('lr-d', { type: 'number', describe: 'Adam learning rate of the discriminator (default: --lr)' })
        .option('beta1', { type: 'number', default: 0.9 })
        .option('schedule', { choices: ['cosine', 'constant'] as const, default: 'cosine' as const })
        .option('w-pixel', { type: 'number', default: DEFAULT_LOSS_WEIGHTS.pixel, describe: 'weight of the pixel loss (MSE, [0,1] images)' })
        .option('w-feature', { type: 'number', default: DEFAULT_LOSS_WEIGHTS.feature, describe: 'weight of the feature loss (relative squared error in the comparator)' })
        .option('w-adv', { type: 'number', default: DEFAULT_LOSS_WEIGHTS.adversarial, describe: 'weight of the adversarial loss' })
        .option('d-pause', { type: 'number', default: 0.1, describe: 'skip D updates while loss_D / loss_adv is below this' })
    )
      .option('test-limit', { type: 'number', describe: 'final reconstruction error on this many test images (default all)' })
      .option('epoch-test-limit', { type: 'number', default: 500, describe: 'test images for the per-epoch reconstruction error' })
      .option('bounds-limit', { type: 'number', describe: 'training images scanned for the code bounds (default all)' })
      .option('dgn-steps', { type: 'number', default: DEFAULT_DGN.steps, describe: 'DGN-AM settings recorded in the card and checked at the end' })
      .option('dgn-start-step', { type: 'number', describe: 'check only this start step size (instead of --dgn-start-steps)' })
      .option('dgn-end-step', { type: 'number', default: DEFAULT_DGN.endStep })
      .option('dgn-l2', { type: 'number', default: DEFAULT_DGN.l2 })
      .option('dgn-check', { type: 'boolean', default: true, describe: 'run DGN-AM on every class logit at the end (--no-dgn-check skips)' })
      .option('dgn-check-seeds', { type: 'number', default: 4 })
      .option('dgn-start-steps', { type: 'string', default: DEFAULT_DGN_START_STEPS.join(','), describe: 'comma-separated start step sizes to try in the check; the best is recommended in the card' })
      .option('dgn-bound-multiples', { type: 'string', describe: 'comma-separated multiples of the observed code range to try as upper bounds in the check (default: the bounds multiple only); the card keeps the chosen one' })
      .option('encoder', { type: 'string', describe: "the card's encoder MODEL:TENSOR (default: embedded:fc6 for the embedded classifier)" }),
  async (a) => {
    const [{ trainGenerator }, { resolveModelFile }] = await Promise.all([import('../../train/generator/trainer.ts'), import('../../models/registry.ts')]);
    const res = await trainGenerator({
      classifier: resolveModelFile(a.classifier),
      data: a.data,
      out: a.out,
      arch: a.arch,
      discriminator: a.discriminator,
      comparator: a.comparator,
      codeLayer: a['code-layer'],
      epochs: a.epochs,
      batchSize: a.batch,
      lr: a.lr,
      lrD: a['lr-d'],
      beta1: a.beta1,
      schedule: a.schedule,
      weights: { pixel: a['w-pixel'], feature: a['w-feature'], adversarial: a['w-adv'] },
      dPauseRatio: a['d-pause'],
      flip: a.flip,
      testLimit: a['test-limit'],
      epochTestLimit: a['epoch-test-limit'],
      boundsLimit: a['bounds-limit'],
      dgn: { steps: a['dgn-steps'], startStep: (a['dgn-start-step']) ?? DEFAULT_DGN.startStep, endStep: a['dgn-end-step'], l2: a['dgn-l2'] },
      dgnCheck: a['dgn-check'],
      dgnCheckSeeds: a['dgn-check-seeds'],
      dgnBoundMultiples: a['dgn-bound-multiples'] !== undefined ? String(a['dgn-bound-multiples']).split(',').map(Number) : undefined,
      dgnStartSteps: a['dgn-start-step'] !== undefined ? [a['dgn-start-step']] : String(a['dgn-start-steps']).split(',').map(Number),
      encoder: a.encoder,
      ...trainRunArgs(a),
      onProgress: progressPrinter(),
      onEpoch: (e) =>
        console.log(
          `epoch ${e.epoch} done: loss ${e.loss.toFixed(4)} (pix ${e.pixel.toFixed(4)} feat ${e.feature.toFixed(4)} adv ${e.adversarial.toFixed(3)}) D ${e.discriminator.toFixed(3)} ` +
            `acc real ${(100 * e.dAccReal).toFixed(0)}% fake ${(100 * e.dAccFake).toFixed(0)}% upd ${(100 * e.dUpdates).toFixed(0)}%` +
            (e.test ? ` | test mse ${e.test.mse.toFixed(4)} feat ${e.test.feature.toFixed(4)} (${e.test.n} images)` : '') +
            ` | ${e.imagesPerSecond.toFixed(1)} img/s | wall ${formatSeconds(e.wallSeconds)}`,
        ),
    });
    const m = res.meta;
    if (res.interrupted) console.log(stoppedLine(m.step, res.files.last));
    else {
      const r = res.reconstruction;
      console.log(`done: ${m.history.length} epochs; generator ${res.files.model}, card ${res.files.card}`);
      if (r) console.log(`test reconstruction (${r.n} images): mse ${r.mse.toFixed(5)}, feature loss ${r.feature.toFixed(4)}; sheet ${res.files.sheet}`);
      if (res.files.dgnSheet) console.log(`DGN-AM class check: ${res.files.dgnSheet}`);
    }
  },
);
