import { defineCommand } from './types.ts';
import { ACCENT_DEFAULTS } from '../../optvis/render/accentuate-defaults.ts';
import { MODEL_NAMES } from './models-arg.ts';
import { inputOptions, inputOverrides, numberList } from './options.ts';
import { printResult, progressReporter } from './visualize.ts';

export const accentuateCommand = defineCommand(
  'accentuate',
  'feature accentuation: push a real image towards an objective while keeping it close (Hamblin et al.)',
  (c) =>
    inputOptions(
      c
        .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
        .option('image', { type: 'string', demandOption: true, describe: 'the seed image' })
        .option('objective', { type: 'string', demandOption: true, describe: 'what to accentuate: class:K, TENSOR:C, ...' })
        .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
        .option('steps', { type: 'number', describe: `optimization steps (default ${ACCENT_DEFAULTS.steps})` })
        .option('lr', { type: 'number', describe: `NAdam learning rate (default ${ACCENT_DEFAULTS.lr})` })
        .option('lambda', { type: 'number', describe: `weight of ||x - seed||^2 (default ${ACCENT_DEFAULTS.lambda}; 0: free)` })
        .option('decay', { type: 'number', describe: `spectrum scale 1/f^decay (default ${ACCENT_DEFAULTS.decay})` })
        .option('crop', { type: 'string', describe: 'random crop box side range as fractions, e.g. 0.7,1' })
        .option('noise', { type: 'number', describe: `noise std on each crop (default ${ACCENT_DEFAULTS.noise})` })
        .option('frames', { type: 'string', describe: 'steps to save into OUT/frames' })
        .option('seed', { type: 'number', default: 0 }),
    ),
  async (a) => {
    const crop = numberList(a.crop, '--crop', 2);
    const frames = numberList(a.frames, '--frames');
    const input = inputOverrides(a);
    const { accentuate } = await import('../../optvis/render/accentuate.ts');
    const r = await accentuate({
      model: a.model,
      image: a.image,
      objective: a.objective,
      out: a.out,
      steps: a.steps,
      lr: a.lr,
      lambda: a.lambda,
      decay: a.decay,
      cropBox: crop ? [crop[0]!, crop[1]!] : undefined,
      noise: a.noise,
      seed: a.seed,
      frames,
      input,
      device: a.device,
      threads: a.threads,
      command: process.argv.slice(2).join(' '),
      progress: progressReporter('accentuate', a.steps ?? ACCENT_DEFAULTS.steps),
    });
    printResult(r);
  },
);
