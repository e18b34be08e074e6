// Training a generator for DGN-AM (Dosovitskiy & Brox 2016, the recipe behind Nguyen's fc6 generator) on
// fviz's own engine: the frozen classifier encodes each training image to its code (fc6) and gives the
// comparator features; G learns to map the code back to the image under a pixel loss, a feature loss in
// the comparator's space and an adversarial loss from a discriminator D(image, code) trained in
// alternation (paused while its loss is far below the generator's adversarial loss, as the paper does).
// Adam for both, in TypeScript; checkpoints to resume from; the generator exported with its card, code
// bounds, test-split reconstruction error, a sheet of reconstructions and a DGN-AM check per class.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FvizError } from '../../errors.ts';
import { batchCount, IDENTITY_NORMALIZATION } from '../../dataset/batches.ts';
import { sha256File } from '../../dataset/cifar10.ts';
import { evenIndices, subset, type ImageSet } from '../../dataset/image-set.ts';
import { openDataset } from '../../dataset/open.ts';
import type { DgnSettings } from '../../generator/card.ts';
import { codeBounds, readBoundsFile, writeBoundsFile } from './bounds.ts';
import { readCheckpoint, writeCheckpoint } from '../checkpoint.ts';
import { resolveDiscriminatorConfig, type DiscriminatorConfig } from './discriminator.ts';
import { BOUNDS_FILE, CODE_RANGE_FILE, exportGenerator, type ExportFacts } from './export.ts';
import { ReconstructionEval, scanCodeRange, type Reconstruction } from './eval.ts';
import { initLayerParams } from './layers.ts';
import { resolveGeneratorConfig, type GeneratorConfig } from './net.ts';
import { GanSteps, loadFrozenClassifier, type GanLossWeights } from './step.ts';
import { Optimizer, type ParamSlot } from '../optimizer.ts';
import { learningRate, type ScheduleKind } from '../schedule.ts';
import type { TrainRunOptions } from '../run-options.ts';
import { firstDifference, lastCheckpointPath, runEpochs, SittingClock, type RunListeners, type RunProgress } from '../run-loop.ts';

export const DEFAULT_COMPARATOR = 'inception_5b/output';
/**
 * Measured on the embedded classifier (150-step comparisons, then a 1,000-step run): with the pixel weight at
 * 1 and the adversarial at 0.01 the feature loss alone is driven down by high-frequency patterns; pixel 5,
 * feature 1 (the relative error: the largest term), adversarial 0.05 gave the lowest test errors and a
 * balanced D (65-80% accuracy, updated >90% of the steps).
 */
export const DEFAULT_LOSS_WEIGHTS: GanLossWeights = { pixel: 5, feature: 1, adversarial: 0.05 };
/** Nguyen's schedule, but a smaller first step: this fc6's codes are ~3x smaller than CaffeNet's (bounds median 4 vs 12). */
export const DEFAULT_DGN: DgnSettings = { steps: 200, startStep: 0.5, endStep: 1e-10, l2: 0.99 };
export const DEFAULT_DGN_START_STEPS = [0.25, 0.5, 1, 2];

export interface TrainGeneratorOptions extends TrainRunOptions, RunListeners<GeneratorProgress, GeneratorEpochReport> {
  /** The frozen classifier (.onnx with its card): encoder (code layer) and comparator. */
  classifier: string;
  data: string;
  out: string;
  arch?: string | GeneratorConfig;
  discriminator?: string | DiscriminatorConfig;
  /** The classifier tensor the feature loss compares (default inception_5b/output). */
  comparator?: string;
  /** The code layer (default: the classifier card's codeLayer, else fc6). */
  codeLayer?: string;
  epochs?: number;
  batchSize?: number;
  /** Adam learning rates of G and D (the paper: 2e-4; measured here: 1e-3 learns ~2x faster per step, default). */
  lr?: number;
  lrD?: number;
  beta1?: number;
  schedule?: ScheduleKind;
  weights?: Partial<GanLossWeights>;
  /** Skip D's update while loss_D / loss_adv is below this (the paper: 0.1). */
  dPauseRatio?: number;
  /** Random horizontal flips of the training images (their codes are computed on the flipped image). */
  flip?: boolean;
  /** Test images for the per-epoch reconstruction error (default 500). */
  epochTestLimit?: number;
  /** Test images for the final reconstruction error (default: all). */
  testLimit?: number;
  /** Training images scanned for the code bounds (default: all). */
  boundsLimit?: number;
  /** Upper bound = this x the observed range (Nguyen: 3). */
  boundsMultiple?: number;
  /** DGN-AM settings recorded in the card (and checked at the end). */
  dgn?: Partial<DgnSettings>;
  /** Run the DGN-AM class check after training (default true); its seeds per class. */
  dgnCheck?: boolean;
  dgnCheckSeeds?: number;
  /** Start step sizes to try in the check (the best is recommended in the card); default: dgn.startStep only. */
  dgnStartSteps?: number[];
  /** Multiples of the observed code range to try as upper bounds in the same check; default: boundsMultiple only. */
  dgnBoundMultiples?: number[];
  /** The card's encoder ('MODEL:TENSOR'); default 'embedded:<code>' for the embedded classifier, else '<path>:<code>'. */
  encoder?: string;
}

export interface LossMeans {
  loss: number;
  pixel: number;
  feature: number;
  adversarial: number;
  discriminator: number;
  /** Fraction of steps in which D was updated. */
  dUpdates: number;
  /** D's accuracy on real and generated images. */
  dAccReal: number;
  dAccFake: number;
}

export interface GeneratorProgress extends LossMeans, RunProgress {}

export interface GeneratorEpochReport extends LossMeans {
  epoch: number;
  step: number;
  test?: { mse: number; feature: number; n: number };
  imagesPerSecond: number;
  wallSeconds: number;
}

interface ResolvedOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  lrD: number;
  beta1: number;
  schedule: ScheduleKind;
  weights: GanLossWeights;
  dPauseRatio: number;
  flip: boolean;
  seed: number;
  comparator: string;
  codeLayer?: string;
  trainLimit?: number;
}

export interface GeneratorTrainMeta {
  version: 1;
  kind: 'generator';
  generator: GeneratorConfig;
  discriminator: DiscriminatorConfig;
  options: ResolvedOptions;
  classifier: { path: string; sha256: string; codeLayer: string; comparator: string; codeSize: number };
  step: number;
  gT: number;
  dT: number;
  sums: { [K in keyof LossMeans]: number } & { steps: number };
  history: GeneratorEpochReport[];
  wallSeconds: number;
  trainSeconds: number;
  imagesPerSecond: number;
  dataset: { spec: string; train: number; test: number; archiveSha256?: string };
  bounds?: { file: string; images: number; multiple: number };
  command?: string;
}

export interface TrainGeneratorResult {
  meta: GeneratorTrainMeta;
  interrupted: boolean;
  files: { last: string; model?: string; card?: string; bounds?: string; sheet?: string; dgnSheet?: string };
  gParams: Map<string, Float32Array>;
  reconstruction?: Reconstruction;
}

function resolveOptions(o: TrainGeneratorOptions): ResolvedOptions {
  return {
    epochs: o.epochs ?? 15,
    batchSize: o.batchSize ?? 64,
    lr: o.lr ?? 1e-3,
    lrD: o.lrD ?? o.lr ?? 1e-3,
    beta1: o.beta1 ?? 0.9,
    schedule: o.schedule ?? 'cosine',
    weights: { ...DEFAULT_LOSS_WEIGHTS, ...o.weights },
    dPauseRatio: o.dPauseRatio ?? 0.1,
    flip: o.flip ?? true,
    seed: o.seed ?? 1,
    comparator: o.comparator ?? DEFAULT_COMPARATOR,
    codeLayer: o.codeLayer,
    trainLimit: o.trainLimit,
  };
}

const zeroSums = (): GeneratorTrainMeta['sums'] => ({ loss: 0, pixel: 0, feature: 0, adversarial: 0, discriminator: 0, dUpdates: 0, dAccReal: 0, dAccFake: 0, steps: 0 });

function means(s: GeneratorTrainMeta['sums']): LossMeans {
  const n = Math.max(1, s.steps);
  return {
    loss: s.loss / n,
    pixel: s.pixel / n,
    feature: s.feature / n,
    adversarial: s.adversarial / n,
    discriminator: s.discriminator / n,
    dUpdates: s.dUpdates / n,
    dAccReal: s.dAccReal / n,
    dAccFake: s.dAccFake / n,
  };
}

export async function trainGenerator(o: TrainGeneratorOptions): Promise<TrainGeneratorResult> {
  const opt = resolveOptions(o);
  if (o.dgnStartSteps?.some((v) => !(v > 0))) throw new FvizError(`--dgn-start-steps must be positive numbers, got ${o.dgnStartSteps.join(',')}`);
  if (o.dgnBoundMultiples?.some((v) => !(v > 0))) throw new FvizError(`--dgn-bound-multiples must be positive numbers, got ${o.dgnBoundMultiples.join(',')}`);
  const genCfg = resolveGeneratorConfig(o.arch);
  const discCfg = resolveDiscriminatorConfig(o.discriminator);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const lastPath = lastCheckpointPath(out, o.resume, 'generator');
  const status = o.onStatus ?? (() => {});
  const B = opt.batchSize;
  const cls = loadFrozenClassifier(o.classifier, B, { codeLayer: opt.codeLayer, comparator: opt.comparator });
  const classifierSha = await sha256File(cls.path);

  const trainData = await openDataset(o.data, { split: 'train', onStatus: status, onProgress: (d, t) => status(`decoding train images ${d}/${t}`) });
  const testData = await openDataset(o.data, { split: 'test', onStatus: status, onProgress: (d, t) => status(`decoding test images ${d}/${t}`) });
  const train: ImageSet = opt.trainLimit ? subset(trainData.set, evenIndices(trainData.set.n, opt.trainLimit)) : trainData.set;
  const test = testData.set;
  if (train.height !== cls.size[0] || train.width !== cls.size[1])
    throw new FvizError(`dataset images are ${train.height}x${train.width}, the classifier takes ${cls.size[0]}x${cls.size[1]}`);
  const stepsPerEpoch = batchCount(train.n, B, true);
  if (stepsPerEpoch === 0) throw new FvizError(`the training set (${train.n} images) is smaller than one batch (${B})`);
  const totalSteps = stepsPerEpoch * opt.epochs;

  status(`building the generator and discriminator steps (batch ${B}, comparator ${cls.comparator}, code ${cls.codeLayer} [${cls.codeSize}])`);
  const steps = await GanSteps.create(cls, genCfg, discCfg, opt.weights, { threads: o.threads });
  const gSlots: ParamSlot[] = steps.gParams.map((p) => ({ name: p.name, decay: false }));
  const dSlots: ParamSlot[] = steps.dParams.map((p) => ({ name: p.name, decay: false }));
  const gOpt = new Optimizer({ kind: 'adam', beta1: opt.beta1, weightDecay: 0 });
  const dOpt = new Optimizer({ kind: 'adam', beta1: opt.beta1, weightDecay: 0 });
  let gw = initLayerParams(steps.gParams, opt.seed);
  let dw = initLayerParams(steps.dParams, opt.seed + 1);

  let meta: GeneratorTrainMeta = {
    version: 1,
    kind: 'generator',
    generator: genCfg,
    discriminator: discCfg,
    options: opt,
    classifier: { path: cls.path, sha256: classifierSha, codeLayer: cls.codeLayer, comparator: cls.comparator, codeSize: cls.codeSize },
    step: 0,
    gT: 0,
    dT: 0,
    sums: zeroSums(),
    history: [],
    wallSeconds: 0,
    trainSeconds: 0,
    imagesPerSecond: 0,
    dataset: { spec: o.data, train: train.n, test: test.n, archiveSha256: trainData.archiveSha256 },
    command: o.command,
  };
  if (o.resume && existsSync(lastPath)) {
    const ck = readCheckpoint<GeneratorTrainMeta>(lastPath);
    if (ck.meta.kind !== 'generator') throw new FvizError(`'${lastPath}' is not a generator checkpoint`);
    if (JSON.stringify(ck.meta.generator) !== JSON.stringify(genCfg) || JSON.stringify(ck.meta.discriminator) !== JSON.stringify(discCfg))
      throw new FvizError(`checkpoint '${lastPath}' has another generator or discriminator architecture than the one asked for`);
    const diff = firstDifference(opt, ck.meta.options);
    if (diff) throw new FvizError(`checkpoint '${lastPath}' was trained with other options (${diff}): resume with the same options`);
    if (ck.meta.classifier.sha256 !== classifierSha)
      throw new FvizError(`checkpoint '${lastPath}' was trained against another classifier (sha256 ${ck.meta.classifier.sha256.slice(0, 12)}..., now ${classifierSha.slice(0, 12)}...): its codes differ; start a new --out`);
    meta = { ...ck.meta, command: ck.meta.command ?? o.command };
    const take = (name: string) => {
      const t = ck.tensors.get(name);
      if (!t) throw new FvizError(`checkpoint '${lastPath}' has no '${name}'`);
      return t;
    };
    gw = new Map(steps.gParams.map((p) => [p.name, take(p.name)]));
    dw = new Map(steps.dParams.map((p) => [p.name, take(p.name)]));
    for (const [k, v] of ck.tensors) {
      if (k.startsWith('optG:')) gOpt.state.set(k.slice(5), v);
      if (k.startsWith('optD:')) dOpt.state.set(k.slice(5), v);
    }
    gOpt.t = meta.gT;
    dOpt.t = meta.dT;
    status(`resuming from ${lastPath} at step ${meta.step} (epoch ${Math.floor(meta.step / stepsPerEpoch) + 1})`);
  }

  const clock = new SittingClock(meta);
  const save = () => {
    clock.stampWall();
    meta.gT = gOpt.t;
    meta.dT = dOpt.t;
    const tensors = new Map<string, Float32Array>([...gw, ...dw]);
    for (const [k, v] of gOpt.state) tensors.set(`optG:${k}`, v);
    for (const [k, v] of dOpt.state) tensors.set(`optD:${k}`, v);
    writeCheckpoint(lastPath, meta, tensors);
  };

  // Code bounds from the training set's codes (unflipped), once per output folder.
  // The observed range is kept on its own: the DGN-AM settings choice may rewrite the bounds file at another
  // multiple, and a later export must not derive the range from that.
  const boundsPath = join(out, BOUNDS_FILE);
  const rangePath = join(out, CODE_RANGE_FILE);
  const multiple = o.boundsMultiple ?? 3;
  if (!meta.bounds || !existsSync(boundsPath) || !existsSync(rangePath) || readBoundsFile(boundsPath).length !== cls.codeSize) {
    const scanSet = o.boundsLimit ? subset(train, evenIndices(train.n, o.boundsLimit)) : train;
    status(`scanning ${scanSet.n} training images for the code range (bounds: ${multiple} x the observed range)`);
    const scanCls = loadFrozenClassifier(o.classifier, 100, { codeLayer: opt.codeLayer, comparator: opt.comparator });
    let last = 0;
    const range = await scanCodeRange(scanCls, scanSet, {
      threads: o.threads,
      onProgress: (d, t) => {
        if (performance.now() - last > 10_000 || d === t) status(`code range: ${d}/${t} images`);
        last = performance.now();
      },
    });
    writeBoundsFile(rangePath, codeBounds(range, 1).upper);
    writeBoundsFile(boundsPath, codeBounds(range, multiple).upper);
    meta.bounds = { file: BOUNDS_FILE, images: scanSet.n, multiple };
    save();
  }

  const evalCls = loadFrozenClassifier(o.classifier, 50, { codeLayer: opt.codeLayer, comparator: opt.comparator });
  const epochTest = evenIndices(test.n, o.epochTestLimit ?? 500);
  const facts = (): ExportFacts => ({
    out,
    gen: genCfg,
    disc: discCfg,
    cls,
    classifierSha,
    meta,
    totalSteps,
    stepsPerEpoch,
    encoder: o.encoder,
    dgn: { ...DEFAULT_DGN, ...o.dgn },
  });

  const schedule = { kind: opt.schedule, lr: 1, totalSteps, warmupSteps: 0 };
  const files: TrainGeneratorResult['files'] = { last: lastPath, bounds: boundsPath };
  let interrupted = false;
  try {
    interrupted = await runEpochs({
      record: meta,
      clock,
      data: { train, batchSize: B, norm: IDENTITY_NORMALIZATION, seed: opt.seed, augment: opt.flip ? { pad: 0, flip: true } : undefined, stepsPerEpoch, totalSteps },
      run: o,
      save,
      step: async (batch) => {
        const factor = learningRate(schedule, meta.step);
        const g = await steps.generator(batch.x, gw, dw);
        if (!Number.isFinite(g.loss)) throw new FvizError(`generator training diverged at step ${meta.step} (loss ${g.loss}): lower --lr`);
        gOpt.step(gw, g.grads, gSlots, opt.lr * factor);
        const d = await steps.discriminator(batch.x, g.fake, g.code, dw);
        if (!Number.isFinite(d.loss)) throw new FvizError(`discriminator training diverged at step ${meta.step} (loss ${d.loss}): lower --lr-d`);
        const updateD = d.loss >= opt.dPauseRatio * g.adversarial;
        if (updateD) dOpt.step(dw, d.grads, dSlots, opt.lrD * factor);
        const s = meta.sums;
        s.loss += g.loss;
        s.pixel += g.pixel;
        s.feature += g.feature;
        s.adversarial += g.adversarial;
        s.discriminator += d.loss;
        s.dUpdates += updateD ? 1 : 0;
        s.dAccReal += d.accReal;
        s.dAccFake += d.accFake;
        s.steps++;
      },
      progress: (p) =>
        o.onProgress?.({
          ...means(meta.sums),
          ...p,
          epochs: opt.epochs,
          totalSteps,
          stepsPerEpoch,
          lr: opt.lr * learningRate(schedule, meta.step - 1),
        }),
      epochEnd: async (epoch) => {
        status(`reconstruction error on ${epochTest.length} test images`);
        const ev = await ReconstructionEval.create(evalCls, genCfg, discCfg, gw, { threads: o.threads });
        let rec: Reconstruction;
        try {
          rec = await ev.run(test, { indices: epochTest });
        } finally {
          await ev.release();
        }
        const report: GeneratorEpochReport = {
          ...means(meta.sums),
          epoch: epoch + 1,
          step: meta.step,
          test: { mse: rec.mse, feature: rec.feature, n: rec.n },
          imagesPerSecond: meta.imagesPerSecond,
          wallSeconds: meta.wallSeconds,
        };
        meta.history.push(report);
        meta.sums = zeroSums();
        save();
        writeFileSync(join(out, 'history.json'), `${JSON.stringify(meta.history, null, 2)}\n`);
        if (meta.step < totalSteps) {
          const ex = await exportGenerator(facts(), gw, { final: false, threads: o.threads });
          Object.assign(files, ex);
        }
        o.onEpoch?.(report);
      },
    });
  } finally {
    await steps.release();
  }
  let reconstruction: Reconstruction | undefined;
  if (!interrupted) {
    const ex = await exportGenerator(facts(), gw, {
      final: true,
      threads: o.threads,
      test,
      testLimit: o.testLimit,
      dgnCheck: o.dgnCheck ?? true,
      dgnCheckSeeds: o.dgnCheckSeeds,
      dgnStartSteps: o.dgnStartSteps,
      dgnBoundMultiples: o.dgnBoundMultiples,
      onStatus: status,
    });
    Object.assign(files, ex);
    reconstruction = ex.reconstruction;
  }
  return { meta, interrupted, files, gParams: gw, reconstruction };
}
