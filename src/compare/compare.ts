// `fviz compare` as a library function: every method on every objective from the same seeds, each run in
// its own folder (finished ones are kept), then metrics, sheets and a self-contained HTML report. Every
// number and picture is computed from the run folders on disk, so a resumed comparison and a fresh one
// with the same seeds write the same metrics.json.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import type { InputConvention } from '../classifier/card.ts';
import { defaultGenerator, resolveClassifier, resolveGenerator } from '../models/registry.ts';
import { fileSha256, VERSION, type RunRecord } from '../util/run-record.ts';
import { PIXEL_METHODS, type PixelMethod } from '../optvis/render/pixel.ts';
import { visualizeDgn, visualizePixel } from '../optvis/render/visualize.ts';
import { ppgnSettings, visualizePpgn } from '../optvis/render/visualize-ppgn.ts';
import { averageSpectrum } from '../analysis/spectrum.ts';
import { writeAtomic } from '../onnx/proto.ts';
import { readImage } from '../render/image.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { readFile } from 'node:fs/promises';
import { openDatasetReference, type UnitReference } from './dataset.ts';
import { comparisonSheet, progressionSheet, type RowInfo } from './figures.ts';
import { methodsCsv, metricsCsv, runMetrics, summarize, summaryCsv, type RunMetrics, type SummaryRow } from './metrics.ts';
import { diversityFigures, featureDiversity, measureData, methodQuality, objectiveClassName, recognisedBy, type DataQuality, type MethodQuality } from './quality.ts';
import { COMPARE_METHODS, isCompleteRun, planRuns, readRunRecord, type CompareMethod, type RunSpec } from './plan.ts';
import { Judge, UnitProbe, targetUnit } from './probe.ts';
import { reportHtml } from './report.ts';
import { createOutputFolder } from '../util/output-folder.ts';

export interface CompareProgress {
  /** 1-based index of the run among those that have to be made. */
  run: number;
  runs: number;
  spec: RunSpec;
  step: number;
  /** Steps finished over all runs to be made, and their total. */
  doneSteps: number;
  totalSteps: number;
}

export interface CompareOptions extends SessionOptions {
  model?: string;
  generator?: string;
  objectives: string[];
  /** Default: all eight when a generator is available (given, or the embedded pair), else the pixel ones. */
  methods?: CompareMethod[];
  /** Dataset for the examples column and the fraction of the dataset's maximum. */
  dataset?: string;
  /** An independent classifier for the top-1 verdict. */
  judge?: string;
  seeds?: number;
  steps?: number;
  /** Frame steps for the progression (default: start, 1/16, 1/4, 1/2, end of each run). */
  frames?: number[];
  out: string;
  input?: Partial<InputConvention>;
  progress?: (p: CompareProgress) => void;
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

export interface CompareResult {
  outDir: string;
  runs: RunSpec[];
  ran: number;
  skipped: number;
  metrics: RunMetrics[];
  summary: SummaryRow[];
  /** Per method over every objective and seed: blow-outs, diversity, recognition, spectrum slope. */
  methods: MethodQuality[];
  /** The same figures for the dataset's own images (with --dataset). */
  data?: DataQuality;
  /** Files written at the top of the output folder. */
  files: string[];
}

function defaultMethods(hasGenerator: boolean): CompareMethod[] {
  return hasGenerator ? ['dgn', ...PIXEL_METHODS] : [...PIXEL_METHODS];
}

export async function compare(opts: CompareOptions): Promise<CompareResult> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const session: SessionOptions = { device: opts.device, threads: opts.threads };
  const modelSpec = opts.model ?? 'embedded';
  const classifier = resolveClassifier(modelSpec, opts.input);
  const generatorSpec = opts.generator ?? defaultGenerator(modelSpec);
  const methods = opts.methods ?? defaultMethods(generatorSpec !== undefined);
  for (const m of methods) if (!COMPARE_METHODS.includes(m)) throw new FvizError(`unknown method '${m}': choose from ${COMPARE_METHODS.join(', ')}`);
  if (new Set(methods).size !== methods.length) throw new FvizError(`--methods lists a method twice: ${methods.join(',')}`);
  const usesDgn = methods.includes('dgn') || methods.includes('ppgn');
  if (usesDgn && !generatorSpec) throw new FvizError(`method ${methods.includes('dgn') ? 'dgn' : 'ppgn'} needs --generator (embedded, dgn-fc6, twin:fc6-generator, or an .onnx path)`);
  if (methods.includes('maco') && !opts.dataset) throw new FvizError('method maco needs --dataset cifar10 or an image folder: its average spectrum is the fixed magnitude');
  const generator = usesDgn ? resolveGenerator(generatorSpec!) : undefined;
  for (const o of opts.objectives) targetUnit(o); // objective syntax errors before any work
  const judgeClassifier = opts.judge ? resolveClassifier(opts.judge) : undefined;
  const seeds = opts.seeds ?? 3;
  const runs = planRuns({
    objectives: opts.objectives,
    methods,
    seeds,
    steps: opts.steps,
    dgnSteps: generator?.card.dgn?.steps ?? 200,
    ppgnSteps: generator ? ppgnSettings(generator.card).steps : undefined,
    frames: opts.frames,
  });

  const models = [{ role: 'classifier', spec: modelSpec, name: classifier.card.name, path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) }];
  if (generator) models.push({ role: 'generator', spec: generatorSpec!, name: generator.card.name, path: generator.modelPath, sha256: await fileSha256(generator.modelPath) });
  if (judgeClassifier) models.push({ role: 'judge', spec: opts.judge!, name: judgeClassifier.card.name, path: judgeClassifier.modelPath, sha256: await fileSha256(judgeClassifier.modelPath) });
  const hashes = Object.fromEntries(models.filter((m) => m.role !== 'judge').map((m) => [m.role, m.sha256]));

  createOutputFolder(opts.out);

  // 1. The runs.
  const todo = runs.filter((r) => !isCompleteRun(join(opts.out, r.dir), r, hashes));
  if (todo.length < runs.length) log(`keeping ${runs.length - todo.length} finished run(s) of ${runs.length}`);
  const totalSteps = todo.reduce((s, r) => s + r.steps, 0);
  let doneSteps = 0;
  for (let k = 0; k < todo.length; k++) {
    const spec = todo[k]!;
    const dir = join(opts.out, spec.dir);
    rmSync(dir, { recursive: true, force: true });
    const progress = (info: { step: number }) =>
      opts.progress?.({ run: k + 1, runs: todo.length, spec, step: info.step + 1, doneSteps: doneSteps + Math.min(info.step + 1, spec.steps), totalSteps });
    const common = { ...session, model: modelSpec, objective: spec.objective, out: dir, input: opts.input, progress, command: 'compare' };
    if (spec.method === 'dgn') {
      await visualizeDgn({ ...common, generator: generatorSpec!, steps: spec.steps, seed: spec.seed, frames: spec.frames, warn: opts.warn });
    } else if (spec.method === 'ppgn') {
      await visualizePpgn({ ...common, generator: generatorSpec!, steps: spec.steps, seed: spec.seed, frames: spec.frames });
    } else {
      const spectrum = spec.method === 'maco' ? (size: [number, number]) => averageSpectrum(opts.dataset!, size) : undefined;
      await visualizePixel({ ...common, method: spec.method as PixelMethod, options: { steps: spec.steps, seed: spec.seed, frames: spec.frames }, spectrum });
    }
    doneSteps += spec.steps;
  }

  // 2. The numbers, from the folders.
  const records = new Map<string, RunRecord>();
  for (const r of runs) {
    const rec = readRunRecord(join(opts.out, r.dir));
    if (!rec) throw new FvizError(`internal: run folder ${r.dir} has no readable run.json after running`);
    records.set(r.dir, rec);
  }
  const dataset = opts.dataset ? await openDatasetReference(opts.dataset, classifier, { ...session, log, cacheDir: join(opts.out, 'dataset') }) : undefined;
  const units: (UnitReference | undefined)[] = [];
  for (const o of opts.objectives) units.push(dataset ? await dataset.forObjective(o) : undefined);
  const judge = judgeClassifier ? await Judge.create(judgeClassifier, session) : undefined;
  const metrics: RunMetrics[] = [];
  const features = new Map<string, Float32Array>();
  /** Judge-feature diversity of real images per objective: the class's images, else the unit's top examples. */
  const realDiversity: (number | undefined)[] = [];
  let data: DataQuality | undefined;
  const rowsInfo: RowInfo[] = [];
  try {
    if (opts.dataset) {
      log(`measuring the dataset's own images${judge ? ' with the judge' : ''}`);
      data = await measureData(opts.dataset, judge, { log });
    }
    for (let i = 0; i < opts.objectives.length; i++) {
      const objective = opts.objectives[i]!;
      const className = objectiveClassName(objective, classifier.labels);
      realDiversity.push(await objectiveRealDiversity(judge, className, data, units[i]));
      const probe = await UnitProbe.create(classifier, objective, session);
      try {
        for (const r of runs.filter((s) => s.objectiveIndex === i)) {
          const rec = records.get(r.dir)!;
          const file = join(opts.out, r.dir, 'result.png');
          const image = await readImage(file);
          const judged = judge ? await judge.judgeFile(file) : undefined;
          if (judged?.features) features.set(r.dir, judged.features);
          metrics.push(
            runMetrics(
              { objective, terms: rec.objective.terms, unit: probe.label, method: r.method, seed: r.seed, run: r.dir, objectiveValue: rec.final[0]! },
              {
                image,
                activation: await probe.activation(image),
                datasetMax: units[i]?.max,
                judge: judged?.verdict,
                recognised: judged ? recognisedBy(judged.verdict.label, className) : undefined,
              },
            ),
          );
        }
        const terms = records.get(runs.find((s) => s.objectiveIndex === i)!.dir)!.objective.terms;
        rowsInfo.push({ objective, label: terms.length === 1 ? terms[0]! : objective });
      } finally {
        await probe.release();
      }
    }
  } finally {
    await judge?.release();
  }
  const summary = summarize(metrics);
  for (const row of summary) {
    const i = opts.objectives.indexOf(row.objective);
    const f = runs.filter((r) => r.objectiveIndex === i && r.method === row.method).flatMap((r) => features.get(r.dir) ?? []);
    const d = diversityFigures(f, realDiversity[i]);
    if (d) row.diversity = d;
  }
  const methodRows = methodQuality(metrics, summary);

  // 3. Pictures, tables and the report.
  const stepsByMethod = Object.fromEntries(methods.map((m) => [m, runs.find((r) => r.method === m)!.steps]));
  const parameters: Record<string, unknown> = {
    model: modelSpec,
    generator: usesDgn ? generatorSpec! : null,
    objectives: opts.objectives,
    methods,
    seeds,
    steps: stepsByMethod,
    frames: opts.frames ?? 'start, 1/16, 1/4, 1/2, end of each run',
    judge: opts.judge ?? null,
    dataset: dataset?.description ?? null,
    classifierInput: classifier.card.input,
    device: opts.device ?? 'cpu',
  };
  const methodParameters: Record<string, Record<string, unknown>> = {};
  for (const m of methods) {
    const { seed: _seed, frames: _frames, ...p } = records.get(runs.find((r) => r.method === m)!.dir)!.parameters as Record<string, unknown>;
    methodParameters[m] = p;
  }
  const modelList = models.map(({ role, name, path, sha256 }) => ({ role, name, path, sha256 }));
  const metricsJson = { tool: 'fviz', version: VERSION, command: 'compare', parameters, models: modelList, methodParameters, methods: methodRows, data: data ?? null, images: metrics, summary };
  const title = `fviz compare: ${classifier.card.name}, ${opts.objectives.length} objective(s) x ${methods.length} method(s) x ${seeds} seed(s)`;
  const sheetPng = await comparisonSheet({
    outDir: opts.out,
    rows: rowsInfo,
    methods,
    seed: 0,
    runs,
    metrics,
    dataset: dataset ? units.map((u) => ({ examples: u!.examples, max: u!.max })) : undefined,
    title: `${classifier.card.name}, seed 0`,
  });
  const progressionPng = await progressionSheet({ outDir: opts.out, rows: rowsInfo, methods, seed: 0, runs, explicitFrames: opts.frames, title: `frames, seed 0` });
  const thumbnails = new Map<string, Buffer>();
  for (const r of runs) thumbnails.set(r.dir, await readFile(join(opts.out, r.dir, 'result.png')));
  const files = ['sheet.png', 'progression.png', 'metrics.json', 'metrics.csv', 'summary.csv', 'methods.csv', 'report.html', 'timings.json'];
  const html = reportHtml({ title, parameters, models: modelList, methodParameters, sheetPng, progressionPng, metrics, summary, methods: methodRows, data, thumbnails, files: files.filter((f) => f !== 'report.html') });
  writeAtomic(join(opts.out, 'sheet.png'), sheetPng);
  writeAtomic(join(opts.out, 'progression.png'), progressionPng);
  writeAtomic(join(opts.out, 'metrics.json'), JSON.stringify(metricsJson, null, 2) + '\n');
  writeAtomic(join(opts.out, 'metrics.csv'), metricsCsv(metrics));
  writeAtomic(join(opts.out, 'summary.csv'), summaryCsv(summary));
  writeAtomic(join(opts.out, 'methods.csv'), methodsCsv(methodRows, data));
  writeAtomic(join(opts.out, 'report.html'), html);
  const ranDirs = new Set(todo.map((r) => r.dir));
  const timings = {
    totalMs: performance.now() - t0,
    runs: runs.map((r) => ({ run: r.dir, reused: !ranDirs.has(r.dir), ...records.get(r.dir)!.timings })),
  };
  writeAtomic(join(opts.out, 'timings.json'), JSON.stringify(timings, null, 2) + '\n');
  return { outDir: opts.out, runs, ran: todo.length, skipped: runs.length - todo.length, metrics, summary, methods: methodRows, data, files };
}

async function objectiveRealDiversity(judge: Judge | undefined, className: string | undefined, data: DataQuality | undefined, unit: UnitReference | undefined): Promise<number | undefined> {
  if (!judge?.hasFeatures) return undefined;
  if (className !== undefined && data?.classDiversity[className] !== undefined) return data.classDiversity[className];
  if (!unit) return undefined;
  const f: Float32Array[] = [];
  for (const ex of unit.examples) {
    if (ex.dims[2] !== judge.size[0] || ex.dims[3] !== judge.size[1]) return undefined;
    const j = await judge.judgeWithFeatures(ex);
    if (j.features) f.push(j.features);
  }
  return featureDiversity(f);
}
