import { defineCommand } from './types.ts';
import { FvizError } from '../../errors.ts';
import type { CompareProgress } from '../../compare/compare.ts';
import type { CompareMethod } from '../../compare/plan.ts';
import { DATASET_METHODS, PIXEL_METHODS } from '../../optvis/render/presets.ts';
import { ProgressLine } from '../../util/progress.ts';
import { framesOption, inputOptions, inputOverrides, warn } from './options.ts';
import { MODEL_NAMES } from './models-arg.ts';

/** The methods compare runs (compare/plan.ts COMPARE_METHODS, without loading the engine). */
const COMPARE_METHODS: readonly CompareMethod[] = ['dgn', 'ppgn', ...PIXEL_METHODS, ...DATASET_METHODS];

/** Objectives separated by commas; the comma of a neuron's @Y,X stays inside its objective. */
export function objectiveList(text: string | string[]): string[] {
  const out: string[] = [];
  for (const t of Array.isArray(text) ? text : [text])
    for (const piece of String(t).split(',')) {
      const prev = out.at(-1);
      if (prev !== undefined && /@\s*\d+\s*$/.test(prev) && /^\s*\d+/.test(piece)) out[out.length - 1] = `${prev},${piece}`;
      else out.push(piece);
    }
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

export function methodList(text: string | undefined): CompareMethod[] | undefined {
  if (text === undefined) return undefined;
  const list = String(text)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return list.map((m) => {
    const known = COMPARE_METHODS.find((c) => c === m);
    if (known === undefined) throw new FvizError(`--methods: unknown method '${m}'; choose from ${COMPARE_METHODS.join(',')}`);
    return known;
  });
}

function progressPrinter() {
  let line: ProgressLine | undefined;
  return (p: CompareProgress) => {
    line ??= new ProgressLine('compare', p.totalSteps);
    if (p.doneSteps === p.totalSteps) line.done(`all ${p.runs} run(s) done`);
    else line.update(p.doneSteps, `run ${p.run}/${p.runs}: ${p.spec.method} ${p.spec.objective} seed ${p.spec.seed} step ${p.step}/${p.spec.steps}`);
  };
}

export const compareCommand = defineCommand(
  'compare',
  'every method on every objective from the same seeds: sheet.png, progression.png, metrics.json/.csv and report.html',
  (c) =>
    inputOptions(
      c
        .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
        .option('generator', { type: 'string', describe: 'generator for dgn (default with the embedded classifier: embedded)' })
        .option('objective', { type: 'string', demandOption: true, describe: 'objectives separated by commas, e.g. class:cat,class:dog,conv2:5' })
        .option('methods', { type: 'string', describe: `comma-separated subset of ${COMPARE_METHODS.join(',')} (default: all; without a generator the pixel ones)` })
        .option('dataset', { type: 'string', describe: "dataset for the examples column and the fraction of the unit's dataset maximum" })
        .option('judge', { type: 'string', describe: 'an independent classifier: its top-1 class and probability for each image' })
        .option('seeds', { type: 'number', default: 3, describe: 'seeds 0..N-1 for every method' })
        .option('steps', { type: 'number', describe: 'steps for every method (default: the generator card for dgn, 256 for pixel methods)' })
        .option('frames', { type: 'string', describe: 'steps shown in progression.png, e.g. 0,10,50,200 (default: start, 1/16, 1/4, 1/2, end)' })
        .option('out', { type: 'string', demandOption: true, describe: 'output folder (finished runs in it are kept)' }),
    ),
  async (a) => {
    const frames = framesOption(a.frames);
    if (a.steps !== undefined && (!Number.isInteger(a.steps) || a.steps < 1)) throw new FvizError(`--steps ${a.steps} must be a positive integer`);
    const objectives = objectiveList(a.objective);
    const methods = methodList(a.methods);
    const input = inputOverrides(a);
    const { checkObjective } = await import('../../optvis/objectives/check.ts');
    for (const o of objectives) checkObjective(a.model, o, input);
    const [{ compare }, { formatNumber }] = await Promise.all([import('../../compare/compare.ts'), import('../../compare/figures.ts')]);
    const r = await compare({
      model: a.model,
      generator: a.generator,
      objectives,
      methods,
      dataset: a.dataset,
      judge: a.judge,
      seeds: a.seeds,
      steps: a.steps,
      frames,
      out: a.out,
      input,
      device: a.device,
      threads: a.threads,
      progress: progressPrinter(),
      log: (line) => console.error(line),
      warn,
    });
    for (const s of r.summary) {
      const m = s.metrics;
      console.log(
        `${s.objective} ${s.method}: activation ${formatNumber(m.activation?.mean)} ± ${formatNumber(m.activation?.std, 2)}, slope ${formatNumber(m.spectrumSlope?.mean)}, HF ${formatNumber(m.hfRatio?.mean)}` +
          (s.judgeLabels ? `, judge ${s.judgeLabels[0]!.label} (${s.judgeLabels[0]!.count}/${s.n})` : ''),
      );
    }
    console.log(`${r.ran} run(s) made, ${r.skipped} kept; wrote ${r.files.join(', ')} to ${r.outDir}`);
  },
);
