import { basename, dirname, extname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
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
    const [{ resolveClassifier }, { deepDream }, { readImage, encodePng }, { writeAtomic }, { fileSha256, VERSION }] = await Promise.all([
      import('../../models/registry.ts'),
      import('../../optvis/render/dream.ts'),
      import('../../render/image.ts'),
      import('../../onnx/proto.ts'),
      import('../../util/run-record.ts'),
    ]);
    const t0 = performance.now();
    const classifier = resolveClassifier(a.model, input);
    const meta = await readImage(a.image);
    const [, , h, w] = meta.dims;
    const maxSide = a['max-size'];
    const f = Math.min(1, maxSide / Math.max(h, w));
    const image = f < 1 ? await readImage(a.image, { size: [Math.round(h * f), Math.round(w * f)], fit: 'stretch' }) : meta;
    const octaves = a.octaves;
    const steps = a['steps-per-octave'];
    const progress = new ProgressLine('dream', octaves * steps);
    const res = await deepDream(classifier, image, {
      layer: a.layer,
      octaves,
      octaveScale: a['octave-scale'],
      stepsPerOctave: steps,
      step: a.step,
      jitter: a.jitter,
      seed: a.seed,
      device: a.device,
      threads: a.threads,
      onStep: (o, s, v) => progress.update(o * steps + s + 1, `octave ${o + 1}/${octaves}, objective ${v.toPrecision(4)}`),
    });
    progress.done();
    const out = a.out;
    mkdirSync(dirname(out) || '.', { recursive: true });
    writeAtomic(out, await encodePng(res.image));
    const runJson = join(dirname(out), `${basename(out, extname(out))}.run.json`);
    const record = {
      tool: 'fviz',
      version: VERSION,
      command: `dream ${process.argv.slice(3).join(' ')}`,
      method: 'deepdream',
      objective: { text: `mean square of ${a.layer}` },
      seed: a.seed,
      parameters: { layer: a.layer, image: a.image, octaves, octaveScale: a['octave-scale'], stepsPerOctave: steps, step: a.step, jitter: a.jitter, size: [res.image.dims[2], res.image.dims[3]] },
      models: [{ role: 'classifier', path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) }],
      octaves: res.history,
      timings: { totalMs: performance.now() - t0 },
    };
    writeAtomic(runJson, JSON.stringify(record, null, 2) + '\n');
    const first = res.history[0]!;
    const last = res.history[res.history.length - 1]!;
    console.log(`dream ${a.layer}: objective ${first.start.toPrecision(4)} (octave 1, ${first.size.join('x')}) -> ${last.end.toPrecision(4)} (octave ${octaves}, ${last.size.join('x')})`);
    console.log(`wrote ${out} and ${runJson}`);
  },
);
