// `fviz visualize --method ppgn` as a library function: resolve the classifier and generator, compile
// the PPGN program, run the sampler (a chain of samples every K steps), write the run folder.
import { basename } from 'node:path';
import { modelDigest, programCacheEnabled, programKey } from '../../runtime/program-cache.ts';
import { FvizError } from '../../errors.ts';
import { resolveClassifier, resolveGenerator } from '../../models/registry.ts';
import type { Classifier } from '../../classifier/card.ts';
import type { Generator } from '../../generator/card.ts';
import { fileSha256, VERSION, type RunRecord } from '../../util/run-record.ts';
import { parseEncoder } from '../param/encode.ts';
import { NGUYEN_PPGN, PpgnProgram, type PpgnSettings } from '../param/ppgn.ts';
import { objectiveAst } from '../objectives/build.ts';
import { runPpgn, type PpgnOptions } from './ppgn.ts';
import { writeRun } from './run-output.ts';
import { loadPrepared, runReleasing, type DgnVisualizeOptions, type VisualizeResult } from './visualize.ts';

export interface PpgnVisualizeOptions extends Omit<DgnVisualizeOptions, 'generator' | 'startStep' | 'endStep' | 'l2' | 'optimizer' | 'mode' | 'noise'> {
  generator?: string;
  /** Overrides of the generator card's `ppgn` settings (else Nguyen's). */
  settings?: Partial<PpgnSettings>;
  /** A chain of `samples` images, one every `every` steps (steps = samples * every). */
  samples?: number;
  every?: number;
  /** The classifier tensor the generator inverts (default: the tensor of the card's encoder). */
  codeLayer?: string;
}

/** The card's PPGN settings: `ppgn` in the generator card over Nguyen's. */
export function ppgnSettings(card: Generator['card'], overrides: Partial<PpgnSettings> = {}): PpgnSettings {
  const fromCard = (card['ppgn'] ?? {}) as Partial<PpgnSettings>;
  const s: PpgnSettings = { ...NGUYEN_PPGN, ...fromCard };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  // A step size given alone is constant: it does not decay towards the card's end step.
  if (overrides.lr !== undefined && overrides.lrEnd === undefined) s.lrEnd = overrides.lr;
  // So is a noise std given alone.
  if (overrides.eps3 !== undefined && overrides.eps3End === undefined) s.eps3End = overrides.eps3;
  return s;
}

/** The classifier tensor the generator inverts: `given`, else the card's encoder's tensor (in this classifier), else the classifier card's codeLayer. */
export function ppgnCodeLayer(generator: Generator, classifier: Classifier, given?: string): string {
  if (given) return given;
  const enc = generator.card.encoder;
  if (!enc) {
    if (classifier.card.codeLayer) return classifier.card.codeLayer;
    throw new FvizError("--method ppgn needs the layer the generator inverts: give --code-layer TENSOR (or 'encoder' in the generator card)");
  }
  const { model, tensor } = parseEncoder(enc);
  const encoderPath = resolveClassifier(model).modelPath;
  if (encoderPath !== classifier.modelPath)
    throw new FvizError(`PPGN's prior runs the generator's encoder '${enc}' inside the classifier, but --model is another model: pass --model ${model} (or --code-layer for a layer of this classifier)`);
  return tensor;
}

/** PPGN-h sampling through a generator and the classifier that encodes its code. */
export async function visualizePpgn(opts: PpgnVisualizeOptions): Promise<VisualizeResult> {
  const t0 = performance.now();
  objectiveAst(opts.objective);
  if (!opts.generator) throw new FvizError('--method ppgn needs --generator (embedded, dgn-fc6, twin:fc6-generator, or an .onnx path)');
  const classifier = resolveClassifier(opts.model, opts.input);
  const generator = resolveGenerator(opts.generator);
  if (opts.toClassifier) generator.card.toClassifier = opts.toClassifier;
  const codeLayer = ppgnCodeLayer(generator, classifier, opts.codeLayer);
  const every = opts.every ?? 0;
  if (opts.samples !== undefined && (!Number.isInteger(opts.samples) || opts.samples < 1)) throw new FvizError(`--samples ${opts.samples} must be a positive integer`);
  if (opts.samples !== undefined && !(Number.isInteger(every) && every >= 1)) throw new FvizError('--samples N needs --every K (a positive number of steps between samples)');
  const settings = ppgnSettings(generator.card, { ...opts.settings, steps: opts.samples !== undefined ? opts.samples * every : (opts.steps ?? opts.settings?.steps) });
  for (const [flag, v] of [['--eps1', settings.eps1], ['--eps2', settings.eps2]] as const)
    if (!Number.isFinite(v)) throw new FvizError(`${flag} ${v} must be a finite number`);
  for (const [flag, v] of [['--eps3', settings.eps3], ['--eps3-end', settings.eps3End]] as const)
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new FvizError(`${flag} ${v} is a noise std: give a number >= 0`);
  const batch = opts.batch ?? 1;
  const names = { labels: classifier.labels, preSoftmax: classifier.card.preSoftmax, aliases: classifier.card.aliases };
  const objectiveText = typeof opts.objective === 'string' ? opts.objective : objectiveAst(opts.objective).text;
  const cacheKey =
    opts.cache !== false && programCacheEnabled()
      ? programKey({
          kind: 'ppgn',
          generator: await modelDigest(generator.modelPath),
          classifier: await modelDigest(classifier.modelPath),
          batch,
          generatorOutput: generator.card.output,
          toClassifier: generator.card.toClassifier,
          classifierInput: classifier.card.input,
          names,
          codeLayer,
          objective: objectiveText,
        })
      : undefined;
  const program = await PpgnProgram.load(
    cacheKey,
    `ppgn ${objectiveText} on ${basename(classifier.modelPath)} through ${basename(generator.modelPath)}, batch ${batch}`,
    { objective: opts.objective, names },
    () => ({
      generator: loadPrepared(generator.modelPath, batch),
      classifier: loadPrepared(classifier.modelPath, batch, classifier.card.input.size),
      generatorCard: generator.card,
      classifierCard: classifier.card,
      codeLayer,
    }),
    { device: opts.device, threads: opts.threads },
  );
  const compileMs = performance.now() - t0;
  const steps = settings.steps;
  const chain = opts.samples !== undefined ? Array.from({ length: opts.samples }, (_, i) => (i + 1) * every) : undefined;
  const po: PpgnOptions = {
    ...settings,
    init: opts.init ?? 'random',
    initStd: opts.initStd,
    seed: opts.seed ?? 0,
    lower: opts.noBounds ? undefined : generator.lower,
    upper: opts.noBounds ? undefined : generator.upper,
    frames: opts.frames ?? chain ?? [0, steps],
    onStep: (s) => opts.progress?.({ step: s.step, steps, perItem: s.perItem }),
  };
  const { res, loopMs } = await runReleasing(program, (p) => runPpgn(p, po));
  const record: Omit<RunRecord, 'outputs'> = {
    tool: 'fviz',
    version: VERSION,
    command: opts.command ?? 'visualize',
    method: 'ppgn',
    objective: { text: typeof opts.objective === 'string' ? opts.objective : objectiveAst(opts.objective).text, terms: program.labels },
    seed: po.seed,
    parameters: {
      ...settings,
      codeLayer,
      samples: opts.samples ?? null,
      every: opts.samples !== undefined ? every : null,
      init: po.init instanceof Float32Array ? 'code' : po.init,
      batch,
      bounds: !!(po.lower || po.upper),
      toClassifier: generator.card.toClassifier,
      classifierInput: classifier.card.input,
      generatorOutput: generator.card.output,
      objectiveMeaning: 'class terms are log p(class | x) (log softmax of the logits)',
    },
    models: [
      { role: 'classifier', path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) },
      { role: 'generator', path: generator.modelPath, sha256: await fileSha256(generator.modelPath) },
    ],
    history: res.history,
    final: res.final,
    frames: [...res.frames.keys()].sort((a, b) => a - b),
    timings: { totalMs: performance.now() - t0, compileMs, msPerStep: loopMs / (steps + 1) },
    warnings: [],
    details: { reconError: res.reconError, chain: chain ?? null },
  };
  const outputs = await writeRun(opts.out, { result: res.image, frames: res.frames }, record);
  return { outDir: opts.out, outputs, final: res.final, history: res.history, record };
}
