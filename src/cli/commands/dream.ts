import { defineCommand } from './types.ts';
import { FvizError } from '../../errors.ts';
import { DREAM_DEFAULTS } from '../../optvis/render/dream-defaults.ts';
import { inputOptions, inputOverrides } from './options.ts';
import { ProgressLine } from '../../util/progress.ts';
import { MODEL_NAMES } from './models-arg.ts';

export const dreamCommand = defineCommand(
  'dream',
  'DeepDream a photo: amplify what a layer sees, over octaves',
  (c) =>
      inputOptions(
        c
          .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
          .option('layer', { type: 'string', demandOption: true, describe: 'layer to amplify (tensor name or alias), e.g. inception_4c/output' })
          .option('image', { type: 'string', demandOption: true, describe: 'the photo' })
          .option('out', { type: 'string', demandOption: true, describe: 'output PNG (a .run.json is written beside it)' })
          .option('octaves', { type: 'number', default: DREAM_DEFAULTS.octaves })
          .option('octave-scale', { type: 'number', default: DREAM_DEFAULTS.octaveScale })
          .option('steps-per-octave', { type: 'number', default: DREAM_DEFAULTS.stepsPerOctave })
          .option('step', { type: 'number', default: DREAM_DEFAULTS.step, describe: 'normalized step size in [0,1] pixel units' })
          .option('jitter', { type: 'number', default: DREAM_DEFAULTS.jitter, describe: 'max random circular shift in pixels' })
          .option('max-size', { type: 'number', default: 512, describe: 'shrink larger photos to this longer side' })
          .option('seed', { type: 'number', default: 0 }),
      ),
  async (a) => {
    for (const k of ['octaves', 'steps-per-octave', 'jitter', 'max-size'] as const)
      if (!Number.isInteger(a[k]) || a[k] < (k === 'jitter' ? 0 : 1)) throw new FvizError(`--${k} ${a[k]} must be a ${k === 'jitter' ? 'non-negative' : 'positive'} integer`);
    if (!(a['octave-scale'] > 1)) throw new FvizError(`--octave-scale ${a['octave-scale']} must be above 1`);
    const input = inputOverrides(a);
    const { dreamFile } = await import('../../optvis/render/dream-file.ts');
    const octaves = a.octaves;
    const steps = a['steps-per-octave'];
    const progress = new ProgressLine('dream', octaves * steps);
    const res = await dreamFile({
      model: a.model,
      input,
      image: a.image,
      out: a.out,
      maxSize: a['max-size'],
      layer: a.layer,
      octaves,
      octaveScale: a['octave-scale'],
      stepsPerOctave: steps,
      step: a.step,
      jitter: a.jitter,
      seed: a.seed,
      device: a.device,
      threads: a.threads,
      command: `dream ${process.argv.slice(3).join(' ')}`,
      onStep: (o, s, v) => progress.update(o * steps + s + 1, `octave ${o + 1}/${octaves}, objective ${v.toPrecision(4)}`),
    });
    progress.done();
    const first = res.history[0]!;
    const last = res.history[res.history.length - 1]!;
    console.log(`dream ${a.layer}: objective ${first.start.toPrecision(4)} (octave 1, ${first.size.join('x')}) -> ${last.end.toPrecision(4)} (octave ${octaves}, ${last.size.join('x')})`);
    console.log(`wrote ${res.out} and ${res.runJson}`);
  },
);
