// The run scaffolding both trainers share: the guard against overwriting a checkpoint, the comparison of
// options on resume, wall and step time accounted across sittings, and the epoch/batch loop with progress,
// epoch ends, checkpoints every N steps and the simulated interruption (stop-at-step).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import { batchesSync, epochOrder, type Batch, type Normalization } from '../dataset/batches.ts';
import type { ImageSet } from '../dataset/image-set.ts';
import { augmentation, type AugmentOptions } from './augment.ts';
import type { TrainRunOptions } from './run-options.ts';

/** The fields of a checkpoint's record that the loop keeps up to date. */
export interface RunRecord {
  step: number;
  /** Wall time of all sittings so far (training, evaluation, checkpoints). */
  wallSeconds: number;
  /** Time spent in training steps (data, compiled step, update). */
  trainSeconds: number;
  /** Training images per second of step time, over everything so far. */
  imagesPerSecond: number;
}

/** `<out>/last.ckpt`, refusing to start over a run that exists unless it is resumed. */
export function lastCheckpointPath(out: string, resume: boolean | undefined, what: string): string {
  const lastPath = join(out, 'last.ckpt');
  if (existsSync(lastPath) && !resume)
    throw new FvizError(`'${out}' already holds a ${what} checkpoint: pass --resume to continue it, or another --out`, { subject: out });
  return lastPath;
}

/** The first option whose value differs between now and the checkpoint (keys in `ignore` aside). */
export function firstDifference(now: object, checkpoint: object, ignore: string[] = []): string | undefined {
  for (const k of new Set([...Object.keys(now), ...Object.keys(checkpoint)])) {
    if (ignore.includes(k)) continue;
    const x = JSON.stringify((now as Record<string, unknown>)[k]);
    const y = JSON.stringify((checkpoint as Record<string, unknown>)[k]);
    if (x !== y) return `${k}: checkpoint ${y}, now ${x}`;
  }
  return undefined;
}

/** Wall time of this sitting added to what the record held when it started. */
export class SittingClock {
  private readonly start = performance.now();
  private readonly wallAtStart: number;

  constructor(private readonly record: RunRecord) {
    this.wallAtStart = record.wallSeconds;
  }

  /** Bring the record's wall time up to now (before writing a checkpoint). */
  stampWall(): void {
    this.record.wallSeconds = this.wallAtStart + (performance.now() - this.start) / 1000;
  }
}

/** What every trainer reports after each step (besides its own losses). */
export interface RunProgress {
  /** 1-based. */
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  /** 1-based. */
  stepInEpoch: number;
  stepsPerEpoch: number;
  lr: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

/** A trainer's per-step and per-epoch listeners. */
export interface RunListeners<P, E> {
  onProgress?: (p: P) => void;
  onEpoch?: (e: E) => void;
}

export interface LoopProgress {
  /** 1-based. */
  epoch: number;
  step: number;
  /** 1-based. */
  stepInEpoch: number;
  imagesPerSecond: number;
  etaSeconds: number;
}

/** What the loop reads: the training images, how to batch them, and how many steps make the run. */
export interface RunData {
  train: ImageSet;
  batchSize: number;
  norm: Normalization;
  seed: number;
  /** The augmentation of each epoch (seeded by seed and epoch), if any. */
  augment?: AugmentOptions;
  stepsPerEpoch: number;
  totalSteps: number;
}

export interface RunLoopOptions {
  record: RunRecord;
  clock: SittingClock;
  data: RunData;
  /** checkpointEvery and stopAtStep of the run's options. */
  run: Pick<TrainRunOptions, 'checkpointEvery' | 'stopAtStep'>;
  /** One training step on the batch (0-based epoch); the loop then counts the step. */
  step: (batch: Batch, epoch: number) => Promise<void>;
  progress: (p: LoopProgress) => void;
  /** Runs after the last step of each epoch (and after progress); it saves what it wants to keep. */
  epochEnd: (epoch: number) => Promise<void>;
  /** Writes the last checkpoint. */
  save: () => void;
}

/** Runs steps from record.step to totalSteps; true when it stopped early at stopAtStep. */
export async function runEpochs(o: RunLoopOptions): Promise<boolean> {
  const { record } = o;
  const { train, batchSize: B, stepsPerEpoch, totalSteps, seed } = o.data;
  const { checkpointEvery, stopAtStep } = o.run;
  let sessionImages = 0;
  let sessionTrainSeconds = 0;
  const trainAtStart = record.trainSeconds;
  while (record.step < totalSteps) {
    const epoch = Math.floor(record.step / stepsPerEpoch);
    const order = epochOrder(train.n, seed, epoch);
    const augment = o.data.augment && augmentation(o.data.augment, seed, epoch);
    let stepStart = performance.now();
    for (const batch of batchesSync(train, { batchSize: B, norm: o.data.norm, order, dropLast: true, startBatch: record.step % stepsPerEpoch, augment })) {
      await o.step(batch, epoch);
      record.step++;
      sessionImages += B;
      sessionTrainSeconds += (performance.now() - stepStart) / 1000;
      record.trainSeconds = trainAtStart + sessionTrainSeconds;
      o.clock.stampWall();
      record.imagesPerSecond = (record.step * B) / Math.max(1e-9, record.trainSeconds);
      const ips = sessionImages / Math.max(1e-9, sessionTrainSeconds);
      o.progress({ epoch: epoch + 1, step: record.step, stepInEpoch: batch.batchIndex + 1, imagesPerSecond: ips, etaSeconds: ((totalSteps - record.step) * B) / ips });
      const epochEnd = record.step % stepsPerEpoch === 0;
      if (epochEnd) await o.epochEnd(epoch);
      else if (checkpointEvery && record.step % checkpointEvery === 0) o.save();
      if (stopAtStep !== undefined && record.step >= stopAtStep && record.step < totalSteps) {
        if (!epochEnd) o.save();
        return true;
      }
      stepStart = performance.now();
    }
  }
  return false;
}
