// Learning-rate schedules over global steps.
import { FvizError } from '../errors.ts';

export type ScheduleKind = 'onecycle' | 'cosine' | 'constant';

export interface ScheduleOptions {
  kind: ScheduleKind;
  /** Peak learning rate. */
  lr: number;
  totalSteps: number;
  /** Linear warm-up from lr * startFactor (onecycle; default 15% of the steps). */
  warmupSteps?: number;
  startFactor?: number;
  /** Final learning rate as a fraction of the peak. */
  endFactor?: number;
}

/** Learning rate at step `t` (0-based): onecycle = linear warm-up then cosine decay; cosine = decay only. */
export function learningRate(s: ScheduleOptions, t: number): number {
  if (s.totalSteps <= 0) throw new FvizError('schedule needs at least one step');
  const end = s.lr * (s.endFactor ?? 0.002);
  if (s.kind === 'constant') return s.lr;
  const warm = s.kind === 'onecycle' ? (s.warmupSteps ?? Math.round(0.15 * s.totalSteps)) : 0;
  if (t < warm) {
    const start = s.lr * (s.startFactor ?? 0.04);
    return start + ((s.lr - start) * t) / warm;
  }
  const frac = Math.min(1, (t - warm) / Math.max(1, s.totalSteps - warm));
  return end + (s.lr - end) * 0.5 * (1 + Math.cos(Math.PI * frac));
}
