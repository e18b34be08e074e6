// Random transforms for robustness, each with its exact adjoint. A sampler draws one transform per step;
// samplers compose as a list (Lucid's `transforms=[pad(12), jitter(8), ...]`), applied in order.
import type { Size2 } from '../../image/nchw.ts';
import type { Rng } from '../../util/rng.ts';
import {
  Chain,
  GRAY_BORDER,
  fitTo,
  jitter as jitterBy,
  LUCID_ANGLES,
  LUCID_SCALES,
  pad as padBy,
  randomRoll,
  randomRotate,
  randomScale,
  robustPipeline,
  type Border,
  type Choice,
  type Fit,
  type RobustOptions,
  type Transform,
} from './transforms.ts';

export * from './transforms.ts';

/** Draws this step's transform of an image of `inSize`. */
export type TransformSampler = (rng: Rng, inSize: Size2) => Transform;

export const padding = (width: number, border: Border = GRAY_BORDER): TransformSampler => (_rng, size) => padBy(size, width, border);
export const jittering = (d: number): TransformSampler => (rng, size) => jitterBy(rng, size, d);
export const scaling = (scales: Choice = LUCID_SCALES, border: Border = GRAY_BORDER): TransformSampler => (rng, size) => randomScale(rng, size, scales, border);
export const rotating = (degrees: Choice = LUCID_ANGLES, border: Border = GRAY_BORDER): TransformSampler => (rng, size) => randomRotate(rng, size, degrees, border);
export const rolling = (max: number): TransformSampler => (rng, size) => randomRoll(rng, size, max);
export const fitting = (outSize: Size2, fit: Fit = 'crop', border: Border = GRAY_BORDER): TransformSampler => (_rng, size) => fitTo(size, outSize, fit, border);

/** Lucid's standard transforms plus the fit to `outSize`, fused into one resample per step. */
export const robust = (o: RobustOptions): TransformSampler => (rng, size) => robustPipeline(rng, size, o);

/** The samplers one after another, each on the previous one's output size; the adjoint runs them backwards. */
export function compose(list: readonly TransformSampler[]): TransformSampler {
  return (rng, size) => {
    const steps: Transform[] = [];
    let s = size;
    for (const sample of list) {
      const t = sample(rng, s);
      steps.push(t);
      s = t.outSize;
    }
    return steps.length === 1 ? steps[0]! : new Chain(steps);
  };
}
