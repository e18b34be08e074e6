// `fviz visualize` as a library function: resolve the models, run the chosen method, write the run folder.
import { basename } from 'node:path';
import { FvizError } from '../../errors.ts';
import { loadAtBatch } from '../../onnx/prepare.ts';
import type { Model } from '../../onnx/ir.ts';
import { resolveClassifier, resolveGenerator } from '../../models/registry.ts';
import type { Classifier, InputConvention } from '../../classifier/card.ts';
import type { Generator } from '../../generator/card.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import { asNchw } from '../../image/nchw.ts';
import { DgnProgram } from '../param/generator.ts';
import { modelDigest, programCacheEnabled, programKey } from '../../runtime/program-cache.ts';
import { runDgnAm, type DgnOptions } from './dgn.ts';
import { fileSha256, VERSION, type RunRecord } from '../../util/run-record.ts';
import { writeRun } from './run-output.ts';
import { pixelNetwork, pixelOptions, runPixel, type MethodName, type PixelOptions } from './pixel.ts';
import { readImage } from '../../render/image.ts';
import { objectiveAst, type ObjectiveInput } from '../objectives/build.ts';

export interface Progress {
  (info: { step: number; steps: number; perItem: number[] }): void;
}

export interface DgnVisualizeOptions extends SessionOptions {
  model?: string;
  generator: string;
  /** Text in the grammar, or an Objective of the programmatic API. */
  objective: ObjectiveInput;
  out: string;
  steps?: number;
  startStep?: number;
  endStep?: number;
  l2?: number;
  optimizer?: 'nguyen' | 'adam';
  lr?: number;
  noise?: number;
  init?: 'zeros' | 'random' | Float32Array;
  initStd?: number;
  seed?: number;
  batch?: number;
  frames?: number[];
  mode?: 'fused' | 'chained';
  /** Override the classifier's input convention. */
  input?: Partial<InputConvention>;
  /** Override how the generator output reaches the classifier. */
  toClassifier?: 'center-crop' | 'resize';
  /** Disable clipping to the generator's code bounds. */
  noBounds?: boolean;
  progress?: Progress;
  warn?: (line: string) => void;
  /** Recorded in run.json. */
  command?: string;
  /** Use the program cache for the fused program (default true; $FVIZ_CACHE=off turns it off everywhere). */
  cache?: boolean;
}

export interface VisualizeResult {
  outDir: string;
  outputs: string[];
  final: number[];
  history: number[][];
  record: Omit<RunRecord, 'outputs'>;
}

/** The objective's text for run.json: the text as given, or the programmatic objective's text form. */
function objectiveText(o: ObjectiveInput): string {
  return typeof o === 'string' ? o : objectiveAst(o).text;
}

/**
 * A model prepared for `batch` items (also when its file fixes batch 1), its dynamic spatial dims (if any)
 * specialized to `size`.
 */
export function loadPrepared(path: string, batch: number, size?: [number, number]): Model {
  return loadAtBatch(path, batch, size);
}

/** Runs a program's loop, releases the program however the loop ends, and times the loop. */
export async function runReleasing<P extends { release(): Promise<void> }, R>(program: P, loop: (p: P) => Promise<R>): Promise<{ res: R; loopMs: number }> {
  const t1 = performance.now();
  try {
    return { res: await loop(program), loopMs: performance.now() - t1 };
  } finally {
    await program.release();
  }
}

/** DGN-AM through a generator. */
export async function visualizeDgn(opts: DgnVisualizeOptions): Promise<VisualizeResult> {
  const t0 = performance.now();
  objectiveAst(opts.objective); // a typo fails here, before any model is read
  const classifier: Classifier = resolveClassifier(opts.model, opts.input);
  const generator: Generator = resolveGenerator(opts.generator);
  if (opts.toClassifier) generator.card.toClassifier = opts.toClassifier;
  const batch = opts.batch ?? 1;
  const mode = opts.mode ?? 'fused';
  const names = { labels: classifier.labels, preSoftmax: classifier.card.preSoftmax, aliases: classifier.card.aliases };
  // Everything the fused program is compiled from: a hit skips preparing both models and compiling.
  const cacheKey =
    mode === 'fused' && opts.cache !== false
      ? programKey({
          kind: 'dgn-fused',
          generator: await modelDigest(generator.modelPath),
          classifier: await modelDigest(classifier.modelPath),
          batch,
          codeSize: generator.card.codeSize,
          generatorOutput: generator.card.output,
          toClassifier: generator.card.toClassifier,
          classifierInput: classifier.card.input,
          names,
          objective: objectiveText(opts.objective),
        })
      : undefined;
  const sessionOpts = { device: opts.device, threads: opts.threads };
  const models = () => {
    const gen = loadPrepared(generator.modelPath, batch);
    const codeSize = gen.graph.inputs[0]?.shape.at(-1);
    if (generator.card.codeSize && codeSize !== generator.card.codeSize)
      throw new FvizError(`generator card says code size ${generator.card.codeSize} but the model takes ${codeSize}`);
    if (!generator.card.codeSize && (generator.lower || generator.upper)) throw new FvizError('generator card has bounds but no codeSize');
    const cls = loadPrepared(classifier.modelPath, batch, classifier.card.input.size);
    return { generator: gen, classifier: cls, generatorCard: generator.card, classifierCard: classifier.card };
  };
  const label = `dgn ${objectiveText(opts.objective)} on ${basename(classifier.modelPath)} through ${basename(generator.modelPath)}, batch ${batch}`;
  const program = cacheKey
    ? await DgnProgram.load(cacheKey, label, { objective: opts.objective, names }, models, sessionOpts)
    : await DgnProgram.create({ ...models(), objective: opts.objective, names, mode: opts.mode, ...sessionOpts });
  const compileMs = performance.now() - t0;
  const rec = generator.card.dgn ?? {};
  const steps = opts.steps ?? rec.steps ?? 200;
  const warnings: string[] = [];
  let firstStepMs: number | undefined;
  const dgnOpts: DgnOptions = {
    steps,
    startStep: opts.startStep ?? rec.startStep ?? 2,
    endStep: opts.endStep ?? rec.endStep ?? 1e-10,
    l2: opts.l2 ?? rec.l2 ?? 0.99,
    optimizer: opts.optimizer ?? 'nguyen',
    lr: opts.lr,
    noise: opts.noise,
    init: opts.init ?? 'random',
    initStd: opts.initStd,
    seed: opts.seed ?? 0,
    lower: opts.noBounds ? undefined : generator.lower,
    upper: opts.noBounds ? undefined : generator.upper,
    frames: opts.frames ?? [0, steps],
    onStep: (s) => {
      firstStepMs ??= performance.now() - t0;
      opts.progress?.({ step: s.step, steps, perItem: s.perItem });
    },
    warn: (line) => {
      warnings.push(line);
      opts.warn?.(line);
    },
  };
  const { res, loopMs } = await runReleasing(program, (p) => runDgnAm(p, dgnOpts));
  const record: Omit<RunRecord, 'outputs'> = {
    tool: 'fviz',
    version: VERSION,
    command: opts.command ?? 'visualize',
    method: 'dgn',
    objective: { text: objectiveText(opts.objective), terms: program.labels },
    seed: dgnOpts.seed,
    parameters: {
      steps,
      startStep: dgnOpts.startStep,
      endStep: dgnOpts.endStep,
      l2: dgnOpts.l2,
      optimizer: dgnOpts.optimizer,
      lr: dgnOpts.lr ?? null,
      noise: dgnOpts.noise ?? 0,
      init: dgnOpts.init instanceof Float32Array ? 'code' : dgnOpts.init,
      batch,
      mode: opts.mode ?? 'fused',
      bounds: !!(dgnOpts.lower || dgnOpts.upper),
      toClassifier: generator.card.toClassifier,
      classifierInput: classifier.card.input,
      generatorOutput: generator.card.output,
    },
    models: [
      { role: 'classifier', path: classifier.modelPath, sha256: await modelDigest(classifier.modelPath) },
      { role: 'generator', path: generator.modelPath, sha256: await modelDigest(generator.modelPath) },
    ],
    history: res.history,
    final: res.final,
    frames: [...res.frames.keys()].sort((a, b) => a - b),
    timings: { totalMs: performance.now() - t0, compileMs, msPerStep: loopMs / (steps + 1), firstStepMs },
    warnings,
    details: { nanSkips: res.nanSkips, codeRange: codeRange(res.code) },
  };
  const frames = new Map([...res.frames].map(([k, v]) => [k, asNchw(v)]));
  const outputs = await writeRun(opts.out, { result: asNchw(res.image), frames }, record);
  return { outDir: opts.out, outputs, final: res.final, history: res.history, record };
}

function codeRange(code: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of code) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

export interface PixelVisualizeOptions extends SessionOptions {
  model?: string;
  /** Text in the grammar, or an Objective of the programmatic API. */
  objective: ObjectiveInput;
  /** A pixel method of the preset table (built in or added with registerMethod). */
  method: MethodName;
  out: string;
  /** Overrides of the method's preset (every piece is also an option). */
  options?: Partial<PixelOptions>;
  input?: Partial<InputConvention>;
  /** Start from this image file instead of noise (pixel parameterization). */
  initImage?: string;
  /** MaCo's fixed magnitude at the classifier's input size (e.g. a dataset's average spectrum, analysis/spectrum.ts). */
  spectrum?: (size: [number, number]) => Promise<Float64Array>;
  progress?: Progress;
  command?: string;
}

/** A pixel-space method (naive, l2, tv, blur, bilateral, robust, fourier). */
export async function visualizePixel(opts: PixelVisualizeOptions): Promise<VisualizeResult> {
  const t0 = performance.now();
  objectiveAst(opts.objective); // a typo fails here, before any model is read
  const classifier = resolveClassifier(opts.model, opts.input);
  const o = pixelOptions(opts.method, opts.options);
  if (o.diversity && !o.diversityLayer) throw new FvizError('--diversity needs --diversity-layer LAYER (a convolutional layer, e.g. the objective\'s)');
  const size = classifier.card.input.size;
  if (opts.initImage) o.initImage = await readImage(opts.initImage, { size });
  if (o.param === 'maco' && !o.magnitude) {
    if (!opts.spectrum) throw new FvizError('--method maco needs --dataset cifar10 or an image folder: its average spectrum is the fixed magnitude');
    o.magnitude = await opts.spectrum([size[0], size[1]]);
  }
  const names = { labels: classifier.labels, preSoftmax: classifier.card.preSoftmax, aliases: classifier.card.aliases };
  const diversity = o.diversity ? { weight: o.diversity, layer: o.diversityLayer! } : undefined;
  const cacheKey = programCacheEnabled()
    ? programKey({
        kind: 'pixel',
        classifier: await modelDigest(classifier.modelPath),
        batch: o.batch,
        size,
        classifierInput: classifier.card.input,
        names,
        objective: objectiveText(opts.objective),
        diversity: diversity && diversity.weight !== 0 ? diversity : undefined,
      })
    : undefined;
  const net = await pixelNetwork({
    classifier: () => loadPrepared(classifier.modelPath, o.batch, size),
    card: classifier.card,
    objective: opts.objective,
    names,
    diversity,
    device: opts.device,
    threads: opts.threads,
    cacheKey,
    cacheLabel: `${opts.method} ${objectiveText(opts.objective)} on ${basename(classifier.modelPath)}, batch ${o.batch}`,
  });
  const compileMs = performance.now() - t0;
  const t1 = performance.now();
  let res;
  try {
    res = await runPixel(net, size, o, { device: opts.device, threads: opts.threads }, (step, perItem) => opts.progress?.({ step, steps: o.steps, perItem }));
  } finally {
    await net.release();
  }
  const loopMs = performance.now() - t1;
  const { initImage: _unused, magnitude: _magnitude, ...params } = o;
  const record: Omit<RunRecord, 'outputs'> = {
    tool: 'fviz',
    version: VERSION,
    command: opts.command ?? 'visualize',
    method: opts.method,
    objective: { text: objectiveText(opts.objective), terms: net.terms.map((t) => t.label) },
    seed: o.seed,
    parameters: { ...params, initImage: opts.initImage ?? null, classifierInput: classifier.card.input },
    models: [{ role: 'classifier', path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) }],
    history: res.history,
    final: res.final,
    frames: [...res.frames.keys()].sort((a, b) => a - b),
    timings: { totalMs: performance.now() - t0, compileMs, msPerStep: loopMs / Math.max(o.steps, 1) },
    warnings: [],
    details: { initial: res.initial, filters: res.filters, networkMs: res.timing.networkMs, aroundMs: res.timing.aroundMs },
  };
  const outputs = await writeRun(opts.out, { result: res.image, frames: res.frames, extra: res.transparency ? { transparency: res.transparency } : undefined }, record);
  return { outDir: opts.out, outputs, final: res.final, history: res.history, record };
}
