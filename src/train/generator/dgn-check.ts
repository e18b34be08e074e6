// Does DGN-AM work with a trained generator? For each class logit, run DGN-AM (Nguyen's update, the given
// settings, a few random initial codes) and ask the classifier which class the final images are.
import { openClassifier, withDisplayInput } from '../../classifier/card.ts';
import type { DgnSettings } from '../../generator/card.ts';
import { openGenerator } from '../../generator/card.ts';
import { DgnProgram } from '../../optvis/param/generator.ts';
import { runDgnAm } from '../../optvis/render/dgn.ts';
import { loadPrepared } from '../../optvis/render/visualize.ts';
import { pruneGraph } from '../../autodiff/compile.ts';
import { nchw, type Nchw } from '../../image/nchw.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';
import { DISPLAY_INPUT } from '../../classifier/card.ts';
import { FvizError } from '../../errors.ts';
import { saturatedFraction } from '../../render/metrics.ts';


export interface DgnCheckOptions extends SessionOptions {
  classifier: string;
  generator: string;
  settings: DgnSettings;
  /** Random initial codes per class (the batch). */
  seeds?: number;
  seed?: number;
  init?: 'random' | 'zeros';
  /** Classes to try (default all). */
  classes?: number[];
  /** Code bounds in place of the generator card's (e.g. another multiple of the observed range). */
  lower?: Float32Array;
  upper?: Float32Array;
  onClass?: (c: ClassCheck) => void;
}

export interface ClassCheck {
  class: number;
  label: string;
  /** Images the classifier puts in the target class. */
  hits: number;
  n: number;
  /** Mean softmax probability of the target class. */
  meanProb: number;
  /** Mean target logit at the start and at the end. */
  logitStart: number;
  logitEnd: number;
  /** Fraction of the images' values at the ends of the range (see saturatedFraction). */
  saturated: number;
}

export interface DgnCheckResult {
  settings: DgnSettings;
  seeds: number;
  init: 'random' | 'zeros';
  classes: ClassCheck[];
  hits: number;
  n: number;
  /** Mean over classes of their saturated fraction. */
  saturated: number;
  /** The final images per class (seeds x 3 x H x W, RGB in [0,1]). */
  images: Nchw[];
  msPerStep: number;
}

export async function dgnClassCheck(o: DgnCheckOptions): Promise<DgnCheckResult> {
  const seeds = o.seeds ?? 4;
  const init = o.init ?? 'random';
  const cls = openClassifier(o.classifier);
  const gen = openGenerator(o.generator);
  const labels = cls.labels ?? [];
  const preSoftmax = cls.card.preSoftmax;
  if (!preSoftmax) throw new FvizError(`classifier card '${o.classifier}' names no pre-softmax tensor`);
  const clsModel = loadPrepared(cls.modelPath, seeds);
  const genModel = loadPrepared(gen.modelPath, seeds);
  const judgeModel = withDisplayInput(clsModel, cls.card.input);
  const t = judgeModel.graph.valueTypes.get(preSoftmax)!;
  const K = t.shape[1] as number;
  judgeModel.graph.outputs = [{ name: preSoftmax, dtype: t.dtype, shape: [...t.shape] }];
  pruneGraph(judgeModel.graph);
  const judge = await Session.create(judgeModel, { ...o, source: 'dgn check classifier' });
  const classes = o.classes ?? Array.from({ length: K }, (_, k) => k);
  const result: DgnCheckResult = { settings: o.settings, seeds, init, classes: [], hits: 0, n: 0, saturated: 0, images: [], msPerStep: 0 };
  let stepMs = 0;
  let stepCount = 0;
  try {
    for (const c of classes) {
      const program = await DgnProgram.create({
        generator: genModel,
        classifier: clsModel,
        generatorCard: gen.card,
        classifierCard: cls.card,
        objective: `class:${c}`,
        names: { labels, preSoftmax, aliases: cls.card.aliases },
        threads: o.threads,
        device: o.device,
      });
      const t0 = performance.now();
      let res;
      try {
        res = await runDgnAm(program, { ...o.settings, optimizer: 'nguyen', init, seed: (o.seed ?? 0) + c, lower: o.lower ?? gen.lower, upper: o.upper ?? gen.upper });
      } finally {
        await program.release();
      }
      stepMs += performance.now() - t0;
      stepCount += o.settings.steps + 1;
      const image = res.image;
      const logits = (await judge.run({ [DISPLAY_INPUT]: image }))[preSoftmax]!.data as Float32Array;
      let hits = 0;
      let prob = 0;
      for (let i = 0; i < seeds; i++) {
        const row = logits.subarray(i * K, (i + 1) * K);
        let best = 0;
        for (let k = 1; k < K; k++) if (row[k]! > row[best]!) best = k;
        if (best === c) hits++;
        const mx = row[best]!;
        let z = 0;
        for (let k = 0; k < K; k++) z += Math.exp(row[k]! - mx);
        prob += Math.exp(row[c]! - mx) / z;
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const [n, ch, h, w] = image.dims as [number, number, number, number];
      const data = Float32Array.from(image.data as Float32Array, (v) => Math.min(1, Math.max(0, v)));
      const check: ClassCheck = {
        class: c,
        label: labels[c] ?? String(c),
        hits,
        n: seeds,
        meanProb: prob / seeds,
        logitStart: mean(res.history[0]!),
        logitEnd: mean(res.final),
        saturated: saturatedFraction(data),
      };
      result.classes.push(check);
      result.hits += hits;
      result.n += seeds;
      result.images.push(nchw(n, ch, h, w, data));
      o.onClass?.(check);
    }
  } finally {
    await judge.release();
  }
  result.msPerStep = stepMs / Math.max(1, stepCount);
  result.saturated = result.classes.reduce((a, c) => a + c.saturated, 0) / Math.max(1, result.classes.length);
  return result;
}
