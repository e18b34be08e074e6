// Feature accentuation (Hamblin et al. 2024) as a library function: from a real image's spectrum, ascend
// objective - lambda ||x - seed||^2 under random crops and noise, the spectrum scaled by 1/f^decay
// (param/accentuate.ts); writes result.png, seed.png, frames and run.json.
import { FvizError } from '../../errors.ts';
import { resolveClassifier } from '../../models/registry.ts';
import type { InputConvention } from '../../classifier/card.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import { readImage } from '../../render/image.ts';
import { Rng } from '../../util/rng.ts';
import { fileSha256, VERSION, type RunRecord } from '../../util/run-record.ts';
import { objectiveAst, type ObjectiveInput } from '../objectives/build.ts';
import { accentImage } from '../param/accentuate.ts';
import { seedDistance } from '../penalties/seed.ts';
import { cropping } from '../transforms/crops.ts';
import { render } from './loop.ts';
import { NAdam } from './nadam.ts';
import { pixelNetwork } from './pixel.ts';
import { writeRun } from './run-output.ts';
import { loadPrepared, type Progress, type VisualizeResult } from './visualize.ts';

import { ACCENT_DEFAULTS, type AccentSettings } from './accentuate-defaults.ts';

export { ACCENT_DEFAULTS, type AccentSettings } from './accentuate-defaults.ts';

export interface AccentuateOptions extends SessionOptions, Partial<AccentSettings> {
  model?: string;
  image: string;
  objective: ObjectiveInput;
  out: string;
  input?: Partial<InputConvention>;
  frames?: number[];
  progress?: Progress;
  command?: string;
}

export async function accentuate(opts: AccentuateOptions): Promise<VisualizeResult> {
  const t0 = performance.now();
  objectiveAst(opts.objective);
  const s: AccentSettings = { ...ACCENT_DEFAULTS };
  for (const k of Object.keys(ACCENT_DEFAULTS) as (keyof AccentSettings)[]) if (opts[k] !== undefined) (s as unknown as Record<string, unknown>)[k] = opts[k];
  if (!Number.isInteger(s.steps) || s.steps < 0) throw new FvizError(`--steps ${s.steps} must be a non-negative integer`);
  if (!(s.lambda >= 0)) throw new FvizError(`--lambda ${s.lambda} must be 0 or more`);
  const classifier = resolveClassifier(opts.model, opts.input);
  const size = classifier.card.input.size;
  const seedImage = await readImage(opts.image, { size });
  const net = await pixelNetwork({
    classifier: loadPrepared(classifier.modelPath, 1, size),
    card: classifier.card,
    objective: opts.objective,
    names: { labels: classifier.labels, preSoftmax: classifier.card.preSoftmax, aliases: classifier.card.aliases },
    device: opts.device,
    threads: opts.threads,
  });
  const compileMs = performance.now() - t0;
  const param = await accentImage(seedImage, { decay: s.decay });
  let res;
  const t1 = performance.now();
  try {
    res = await render({
      network: net,
      param,
      steps: s.steps,
      optimizer: new NAdam(param.values.length),
      stepSize: () => s.lr,
      transforms: cropping(size, s.cropBox, s.noise),
      rng: new Rng(s.seed + 104729),
      penalties: s.lambda > 0 ? [seedDistance(param.seed, s.lambda)] : [],
      frames: opts.frames ?? [0, s.steps],
      onStep: (step, perItem) => opts.progress?.({ step, steps: s.steps, perItem }),
    });
  } finally {
    await net.release();
  }
  const loopMs = performance.now() - t1;
  let d2 = 0;
  for (let k = 0; k < res.image.data.length; k++) d2 += (res.image.data[k]! - param.seed.data[k]!) ** 2;
  const record: Omit<RunRecord, 'outputs'> = {
    tool: 'fviz',
    version: VERSION,
    command: opts.command ?? 'accentuate',
    method: 'accentuate',
    objective: { text: typeof opts.objective === 'string' ? opts.objective : objectiveAst(opts.objective).text, terms: net.terms.map((t) => t.label) },
    seed: s.seed,
    parameters: { ...s, image: opts.image, classifierInput: classifier.card.input },
    models: [{ role: 'classifier', path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) }],
    history: res.history,
    final: res.final,
    frames: [...res.frames.keys()].sort((a, b) => a - b),
    timings: { totalMs: performance.now() - t0, compileMs, msPerStep: loopMs / Math.max(s.steps, 1) },
    warnings: [],
    details: { initial: res.initial, rmsFromSeed: Math.sqrt(d2 / res.image.data.length) },
  };
  const outputs = await writeRun(opts.out, { result: res.image, frames: res.frames, extra: { seed: param.seed } }, record);
  return { outDir: opts.out, outputs, final: res.final, history: res.history, record };
}
