// A parameterization maps the optimized values to the image the network sees, and the image's gradient
// back to the values. The render loop steps `values` in place with its optimizer.
import type { Nchw } from '../../image/nchw.ts';

export interface Param {
  /** The optimized values (stepped in place). */
  readonly values: Float32Array;
  /** Values per batch member (optimizers normalize per member). */
  readonly itemSize: number;
  /** The pixels themselves when they are the parameter: filters edit them in place. */
  readonly pixels?: Nchw;
  /** The image the values stand for: [N, 3, H, W] in [0, 1]. */
  render(): Promise<Nchw>;
  /** d objective / d values from d objective / d image at the last render. */
  backward(gImage: Nchw): Promise<Float32Array>;
  /** After each optimizer step (pixels: clip to [0, 1]). */
  afterStep?(): void;
  release?(): Promise<void>;
}

/** What a fused parameterization's program gives for its current values. */
export interface Evaluation {
  /** Objective per batch member. */
  perItem: number[];
  /** d objective / d values. */
  grad: Float32Array;
  /** The image the network saw. */
  image: Nchw;
}

/**
 * A parameterization compiled together with the network into one program (a generator's code through
 * the generator into the classifier): it evaluates the objective and its gradient itself, so the loop
 * has no image-space transforms, penalties or filters to apply.
 */
export interface FusedParam {
  readonly values: Float32Array;
  readonly itemSize: number;
  evaluate(): Promise<Evaluation>;
  release?(): Promise<void>;
}
