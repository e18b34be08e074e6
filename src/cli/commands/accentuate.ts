import type { CommandModule } from './types.ts';
import { accentuate, ACCENT_DEFAULTS } from '../../optvis/render/accentuate.ts';
import { inputOptions, inputOverrides, numberList, printResult, progressReporter } from './visualize.ts';

export const accentuateCommand: CommandModule = (y) =>
  y.command(
    'accentuate',
    "feature accentuation: push a real image towards an objective while keeping it close (Hamblin et al.)",
    (c) =>
      inputOptions(
        c
          .option('model', { type: 'string', describe: 'classifier: .onnx path, embedded (default), googlenet, twin:googlenet' })
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
      const steps = a.steps as number | undefined;
      const crop = numberList(a.crop as string | undefined, '--crop', 2);
      const r = await accentuate({
        model: a.model as string | undefined,
        image: a.image as string,
        objective: a.objective as string,
        out: a.out as string,
        steps,
        lr: a.lr as number | undefined,
        lambda: a.lambda as number | undefined,
        decay: a.decay as number | undefined,
        cropBox: crop as [number, number] | undefined,
        noise: a.noise as number | undefined,
        seed: a.seed as number,
        frames: numberList(a.frames as string | undefined, '--frames'),
        input: inputOverrides(a),
        device: a.device as 'cpu' | 'cuda',
        threads: a.threads as number | undefined,
        command: process.argv.slice(2).join(' '),
        progress: progressReporter('accentuate', steps ?? ACCENT_DEFAULTS.steps),
      });
      printResult(r);
    },
  );
