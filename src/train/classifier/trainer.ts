// Training the classifier on fviz's own engine: the compiled step (forward, loss and weight gradients on
// onnxruntime), the optimizer and batch-norm statistics in TypeScript, checkpoints to resume from, a test
// evaluation per epoch, and the best model exported with its card.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FvizError } from '../../errors.ts';
import { batchCount } from '../../dataset/batches.ts';
import { evenIndices, subset, type ImageSet } from '../../dataset/image-set.ts';
import { openDataset } from '../../dataset/open.ts';
import { saveModel, writeAtomic } from '../../onnx/proto.ts';
import type { AugmentOptions } from '../augment.ts';
import { readCheckpoint, writeCheckpoint } from '../checkpoint.ts';
import { buildClassifier, CLASSIFIER_INPUT, CLASSIFIER_PRESETS, forwardMacs, LOGITS, type ClassifierConfig } from './net.ts';
import { argmaxRow, evaluateClassifier, type Accuracy } from './evaluate.ts';
import { CIFAR10_MEAN, CIFAR10_STD, classifierCard, inferenceModel } from './export.ts';
import { targetRows } from './loss.ts';
import { initParams, type RunningStats } from '../net.ts';
import { Optimizer, type OptimizerKind, type ParamSlot } from '../optimizer.ts';
import { learningRate, type ScheduleKind } from '../schedule.ts';
import { TrainStep } from './step.ts';
import type { TrainRunOptions } from '../run-options.ts';
import { firstDifference, lastCheckpointPath, runEpochs, SittingClock, type RunListeners, type RunProgress } from '../run-loop.ts';
import { resolvePreset } from '../presets.ts';

export interface TrainClassifierOptions extends TrainRunOptions, RunListeners<TrainProgress, EpochReport> {
  /** Dataset name or folder (see openDataset): its train split trains, its test split evaluates. */
  data: string;
  /** Output folder: checkpoints, the exported best model and its card. */
  out: string;
  /** A preset name (CLASSIFIER_PRESETS) or a full architecture. */
  arch?: string | ClassifierConfig;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer?: OptimizerKind;
  momentum?: number;
  weightDecay?: number;
  schedule?: ScheduleKind;
  warmupEpochs?: number;
  labelSmoothing?: number;
  augment?: AugmentOptions;
  /** Evaluate on an evenly spread subset of this many test images. */
  testLimit?: number;
  /** Skip the per-epoch test evaluation. */
  noEval?: boolean;
}

export interface TrainProgress extends RunProgress {
  /** Running means over the epoch so far. */
  loss: number;
  accuracy: number;
}

export interface EpochReport {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  test?: { accuracy: number; loss: number; n: number };
  imagesPerSecond: number;
  wallSeconds: number;
  step: number;
}

/** Everything a checkpoint needs besides tensors; `options` must match on resume. */
export interface TrainMeta {
  version: 1;
  arch: ClassifierConfig;
  options: ResolvedOptions;
  step: number;
  optimizerT: number;
  /** Running sums of the current epoch (so a resumed epoch reports the same means). */
  epochSums: { loss: number; correct: number; seen: number };
  history: EpochReport[];
  best?: { epoch: number; accuracy: number };
  /** Wall time of all sittings so far (training, evaluation, checkpoints). */
  wallSeconds: number;
  /** Time spent in training steps (data, compiled step, update). */
  trainSeconds: number;
  /** Training images per second of step time, over everything so far. */
  imagesPerSecond: number;
  dataset: { spec: string; train: number; test: number; archiveSha256?: string };
  command?: string;
}

interface ResolvedOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerKind;
  momentum: number;
  weightDecay: number;
  schedule: ScheduleKind;
  warmupEpochs: number;
  labelSmoothing: number;
  augment: AugmentOptions;
  seed: number;
  trainLimit?: number;
  testLimit?: number;
}

export interface TrainResult {
  meta: TrainMeta;
  /** Set when training stopped early at stopAtStep. */
  interrupted: boolean;
  files: { last: string; best?: string; model?: string; card?: string };
  params: Map<string, Float32Array>;
}

export const BN_MOMENTUM = 0.1;

function resolveArch(arch: TrainClassifierOptions['arch']): ClassifierConfig {
  return resolvePreset(CLASSIFIER_PRESETS, arch, 'googlenet32', 'architecture');
}

function resolveOptions(o: TrainClassifierOptions): ResolvedOptions {
  const optimizer = o.optimizer ?? 'sgd';
  return {
    epochs: o.epochs ?? 15,
    batchSize: o.batchSize ?? 64,
    lr: o.lr ?? (optimizer === 'sgd' ? 0.05 : 2e-3),
    optimizer,
    momentum: o.momentum ?? 0.9,
    weightDecay: o.weightDecay ?? 5e-4,
    schedule: o.schedule ?? 'onecycle',
    warmupEpochs: o.warmupEpochs ?? 2,
    labelSmoothing: o.labelSmoothing ?? 0.1,
    augment: o.augment ?? { pad: 4, flip: true },
    seed: o.seed ?? 1,
    trainLimit: o.trainLimit,
    testLimit: o.testLimit,
  };
}

const statName = (layer: string, which: 'mean' | 'var') => `bn:${layer}:${which}`;
const optName = (slot: string) => `opt:${slot}`;

export async function trainClassifier(o: TrainClassifierOptions): Promise<TrainResult> {
  const arch = resolveArch(o.arch);
  const opt = resolveOptions(o);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const lastPath = lastCheckpointPath(out, o.resume, 'training');
  const bestPath = join(out, 'best.ckpt');

  const status = o.onStatus ?? (() => {});
  const trainData = await openDataset(o.data, { split: 'train', onStatus: status, onProgress: (d, t) => status(`decoding train images ${d}/${t}`) });
  const testData = o.noEval ? undefined : await openDataset(o.data, { split: 'test', onStatus: status, onProgress: (d, t) => status(`decoding test images ${d}/${t}`) });
  const train: ImageSet = opt.trainLimit ? subset(trainData.set, evenIndices(trainData.set.n, opt.trainLimit)) : trainData.set;
  const test: ImageSet | undefined = testData && (opt.testLimit ? subset(testData.set, evenIndices(testData.set.n, opt.testLimit)) : testData.set);
  if (train.height !== arch.size[0] || train.width !== arch.size[1])
    throw new FvizError(`dataset images are ${train.height}x${train.width}, the architecture takes ${arch.size[0]}x${arch.size[1]}`);
  const cfg: ClassifierConfig = { ...arch, classes: train.classes.length };

  const B = opt.batchSize;
  const stepsPerEpoch = batchCount(train.n, B, true);
  if (stepsPerEpoch === 0) throw new FvizError(`the training set (${train.n} images) is smaller than one batch (${B})`);
  const totalSteps = stepsPerEpoch * opt.epochs;
  const schedule = { kind: opt.schedule, lr: opt.lr, totalSteps, warmupSteps: Math.round(opt.warmupEpochs * stepsPerEpoch) };

  const { model: trainNet, net } = buildClassifier(cfg, { kind: 'train' }, B);
  const slots: ParamSlot[] = net.params.map((p) => ({ name: p.name, decay: p.role === 'conv' || p.role === 'fc' }));
  const optimizer = new Optimizer({ kind: opt.optimizer, momentum: opt.momentum, weightDecay: opt.weightDecay });
  let params = initParams(net.params, opt.seed, `${LOGITS}/W`);
  const stats = new Map<string, RunningStats>(net.bns.map((b) => [b.layer, { mean: new Float32Array(b.channels), var: new Float32Array(b.channels).fill(1) }]));

  let meta: TrainMeta = {
    version: 1,
    arch: cfg,
    options: opt,
    step: 0,
    optimizerT: 0,
    epochSums: { loss: 0, correct: 0, seen: 0 },
    history: [],
    wallSeconds: 0,
    trainSeconds: 0,
    imagesPerSecond: 0,
    dataset: { spec: o.data, train: train.n, test: test?.n ?? 0, archiveSha256: trainData.archiveSha256 },
    command: o.command,
  };
  if (o.resume && existsSync(lastPath)) {
    const ck = readCheckpoint<TrainMeta>(lastPath);
    if (JSON.stringify(ck.meta.arch) !== JSON.stringify(cfg)) throw new FvizError(`checkpoint '${lastPath}' has another architecture than the one asked for`);
    // A resumed run may be shortened or extended.
    const diff = firstDifference(opt, ck.meta.options, ['epochs']);
    if (diff) throw new FvizError(`checkpoint '${lastPath}' was trained with other options (${diff}): resume with the same options`);
    meta = { ...ck.meta, command: ck.meta.command ?? o.command };
    if (ck.meta.options.epochs !== opt.epochs) {
      // The schedule is re-planned over the new length from the current step on.
      if (opt.epochs * stepsPerEpoch <= meta.step)
        throw new FvizError(`cannot shorten the run to ${opt.epochs} epochs: checkpoint '${lastPath}' is already at step ${meta.step}`);
      status(`re-planning the run from ${ck.meta.options.epochs} to ${opt.epochs} epochs`);
      meta.options = { ...meta.options, epochs: opt.epochs };
      meta.command = meta.command && `${meta.command} (re-planned to --epochs ${opt.epochs} at step ${meta.step}, with --resume)`;
    }
    params = new Map(net.params.map((p) => [p.name, ck.tensors.get(p.name)!]));
    for (const p of net.params) if (!ck.tensors.has(p.name)) throw new FvizError(`checkpoint '${lastPath}' has no '${p.name}'`);
    for (const [layer, s] of stats) {
      s.mean = ck.tensors.get(statName(layer, 'mean'))!;
      s.var = ck.tensors.get(statName(layer, 'var'))!;
    }
    for (const [k, v] of ck.tensors) if (k.startsWith('opt:')) optimizer.state.set(k.slice(4), v);
    optimizer.t = meta.optimizerT;
    status(`resuming from ${lastPath} at step ${meta.step} (epoch ${Math.floor(meta.step / stepsPerEpoch) + 1})`);
  }

  const clock = new SittingClock(meta);
  const save = (path: string) => {
    clock.stampWall();
    const tensors = new Map<string, Float32Array>();
    for (const [k, v] of params) tensors.set(k, v);
    for (const [layer, s] of stats) {
      tensors.set(statName(layer, 'mean'), s.mean);
      tensors.set(statName(layer, 'var'), s.var);
    }
    for (const [k, v] of optimizer.state) tensors.set(optName(k), v);
    meta.optimizerT = optimizer.t;
    writeCheckpoint(path, meta, tensors);
  };

  const files: TrainResult['files'] = { last: lastPath };
  const exportBest = () => {
    const modelPath = join(out, 'classifier.onnx');
    saveModel(inferenceModel(cfg, params, stats), modelPath);
    const best = meta.best;
    const card = classifierCard({
      name: 'fviz embedded classifier (GoogLeNet-style, CIFAR-10)',
      modelFile: 'classifier.onnx',
      labels: train.classes,
      mean: CIFAR10_MEAN,
      std: CIFAR10_STD,
      size: cfg.size,
      architecture: cfg,
      forwardMacsPerImage: forwardMacs(trainNet),
      parameters: net.params.reduce((s, p) => s + p.dims.reduce((a, d) => a * d, 1), 0),
      testAccuracy: best?.accuracy,
      testImages: test?.n,
      epochsDone: best?.epoch,
      epochsPlanned: opt.epochs,
      training: {
        command: meta.command,
        options: opt,
        imagesPerSecond: Math.round(meta.imagesPerSecond * 10) / 10,
        wallSeconds: Math.round(meta.wallSeconds),
        trainSeconds: Math.round(meta.trainSeconds),
        machine: 'this project’s reference machine: 2 CPU cores (shared), onnxruntime-node CPU',
      },
      data: meta.dataset,
    });
    writeAtomic(join(out, 'classifier.card.json'), `${JSON.stringify(card, null, 2)}\n`);
    files.model = modelPath;
    files.card = join(out, 'classifier.card.json');
  };

  status(`building the training step (batch ${B}, ${net.params.length} parameter tensors)`);
  const step = await TrainStep.create(trainNet, { params: net.params, bns: net.bns, input: CLASSIFIER_INPUT, logits: LOGITS, batch: B, classes: cfg.classes }, { threads: o.threads });
  const norm = { mean: CIFAR10_MEAN, std: CIFAR10_STD };
  const K = cfg.classes;
  let interrupted = false;
  try {
    interrupted = await runEpochs({
      record: meta,
      clock,
      data: { train, batchSize: B, norm: norm, seed: opt.seed, augment: opt.augment, stepsPerEpoch, totalSteps },
      run: o,
      save: () => save(lastPath),
      step: async (batch) => {
        const lr = learningRate(schedule, meta.step);
        const res = await step.run(batch.x, targetRows(batch.labels, K, opt.labelSmoothing), params);
        if (!Number.isFinite(res.loss)) throw new FvizError(`training diverged at step ${meta.step} (loss ${res.loss}): lower --lr`);
        optimizer.step(params, res.grads, slots, lr);
        for (const b of net.bns) {
          const s = stats.get(b.layer)!;
          const bs = res.batchStats.get(b.layer)!;
          const unbias = b.count / Math.max(1, b.count - 1);
          for (let c = 0; c < b.channels; c++) {
            s.mean[c] = (1 - BN_MOMENTUM) * s.mean[c]! + BN_MOMENTUM * bs.mean[c]!;
            s.var[c] = (1 - BN_MOMENTUM) * s.var[c]! + BN_MOMENTUM * bs.var[c]! * unbias;
          }
        }
        let correct = 0;
        for (let i = 0; i < B; i++) if (argmaxRow(res.logits, i, K) === batch.labels[i]) correct++;
        meta.epochSums.loss += res.loss * B;
        meta.epochSums.correct += correct;
        meta.epochSums.seen += B;
      },
      progress: (p) =>
        o.onProgress?.({
          ...p,
          epochs: opt.epochs,
          totalSteps,
          stepsPerEpoch,
          loss: meta.epochSums.loss / meta.epochSums.seen,
          accuracy: meta.epochSums.correct / meta.epochSums.seen,
          lr: learningRate(schedule, meta.step - 1),
        }),
      epochEnd: async (epoch) => {
        let testAcc: Accuracy | undefined;
        if (test) {
          status(`evaluating on ${test.n} test images`);
          testAcc = await evaluateClassifier(inferenceModel(cfg, params, stats), test, { norm, threads: o.threads, output: LOGITS });
        }
        const report: EpochReport = {
          epoch: epoch + 1,
          trainLoss: meta.epochSums.loss / meta.epochSums.seen,
          trainAccuracy: meta.epochSums.correct / meta.epochSums.seen,
          test: testAcc && { accuracy: testAcc.accuracy, loss: testAcc.loss, n: testAcc.n },
          imagesPerSecond: meta.imagesPerSecond,
          wallSeconds: meta.wallSeconds,
          step: meta.step,
        };
        meta.history.push(report);
        meta.epochSums = { loss: 0, correct: 0, seen: 0 };
        const improved = testAcc && (!meta.best || testAcc.accuracy >= meta.best.accuracy);
        if (improved) meta.best = { epoch: epoch + 1, accuracy: testAcc!.accuracy };
        save(lastPath);
        if (improved || !test) {
          save(bestPath);
          files.best = bestPath;
          exportBest();
        }
        writeFileSync(join(out, 'history.json'), `${JSON.stringify(meta.history, null, 2)}\n`);
        o.onEpoch?.(report);
      },
    });
  } finally {
    await step.release();
  }
  if (existsSync(bestPath)) files.best = bestPath;
  if (existsSync(join(out, 'classifier.onnx'))) {
    files.model = join(out, 'classifier.onnx');
    files.card = join(out, 'classifier.card.json');
  }
  return { meta, interrupted, files, params };
}
