import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { defineCommand } from './types.ts';
import { FvizError } from '../../errors.ts';
import { ProgressLine } from '../../util/progress.ts';
import { PIXEL_METHODS } from '../../optvis/render/presets.ts';
import { warn } from './options.ts';

/**
 * `npm run demo`: a comparison of every method on three classes with the embedded default models: PPGN and
 * DGN-AM through the generator, the pixel-space methods, and MaCo and the judge's figures (blow-outs, diversity,
 * recognition against real images) when the shared CIFAR-10 is beside the repository.
 */
export const demoCommand = defineCommand(
  'demo',
  'compare PPGN and DGN-AM with the pixel-space methods and MaCo on three classes, using the embedded models',
  (c) =>
    c
      .option('out', { type: 'string', default: 'fviz-demo', describe: 'output folder' })
      .option('objectives', { type: 'string', default: 'class:airplane,class:cat,class:ship', describe: 'comma-separated objectives' })
      .option('steps', { type: 'number', default: 100 })
      .option('seeds', { type: 'number', default: 2 }),
  async (a) => {
    const [{ compare }, { EMBEDDED_DIR }, { sharedDir }, { CIFAR10_ARCHIVE }] = await Promise.all([
      import('../../compare/index.ts'),
      import('../../models/registry.ts'),
      import('../../shared-path.ts'),
      import('../../dataset/cifar10.ts'),
    ]);
    const classifier = join(EMBEDDED_DIR, 'classifier.onnx');
    if (!existsSync(classifier)) throw new FvizError(`the embedded classifier ${classifier} is missing: this checkout predates the embedded models (see issue 6); try fviz compare --model MODEL.onnx`);
    const hasGenerator = existsSync(join(EMBEDDED_DIR, 'generator.onnx'));
    if (!hasGenerator) console.error('fviz: note: the embedded generator is not committed yet; the demo compares the pixel-space methods only');
    const hasCifar = existsSync(join(sharedDir(), ...CIFAR10_ARCHIVE));
    if (!hasCifar) console.error(`fviz: note: no shared CIFAR-10 at ${join(sharedDir(), ...CIFAR10_ARCHIVE)}; the demo leaves out MaCo and the judge's figures`);
    const hasJudge = hasCifar && existsSync(join(EMBEDDED_DIR, 'judge.onnx'));
    let progress: ProgressLine | undefined;
    const res = await compare({
      objectives: (a.objectives).split(',').map((s) => s.trim()).filter(Boolean),
      generator: hasGenerator ? 'embedded' : undefined,
      methods: [...(hasGenerator ? (['ppgn', 'dgn'] as const) : []), ...PIXEL_METHODS, ...(hasCifar ? (['maco'] as const) : [])],
      dataset: hasCifar ? 'cifar10' : undefined,
      judge: hasJudge ? 'embedded-judge' : undefined,
      steps: a.steps,
      seeds: a.seeds,
      out: a.out,
      device: a.device,
      threads: a.threads,
      progress: (p) => {
        progress ??= new ProgressLine('demo', p.totalSteps);
        progress.update(p.doneSteps, `${p.spec.method} ${p.spec.objective} seed ${p.spec.seed}`);
      },
      warn,
    });
    progress?.done();
    console.log(`demo: ${res.ran} runs; open ${join(res.outDir, 'report.html')} (sheet: ${join(res.outDir, 'sheet.png')})`);
  },
);
