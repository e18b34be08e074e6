// The two kinds of regularizer the render loop composes. A Penalty is differentiable: its gradient is
// pulled away from the objective's each step, weighted relative to the objective's own pull. A Filter
// edits the pixels every k steps after the optimizer's step (blur, bilateral); it sees that step's image
// gradient (Yosinski's clipping uses it).
import type { Nchw } from '../../image/nchw.ts';

export interface Penalty {
  /** Name in logs and the preset table. */
  readonly name: string;
  /** Relative weight: 1 makes the penalty's mean |gradient| equal the objective's. 0 turns it off. */
  readonly weight: number;
  /** d penalty / d image at `x` ([N, 3, H, W] in [0, 1]). */
  gradient(x: Nchw): Nchw;
  /** The weight multiplies the gradient as it is (a loss term objective - w * penalty), not relative to the pull. */
  readonly absolute?: boolean;
}

export interface FilterOutput {
  image: Nchw;
  /** Pixels set to the centre by clipping, if the filter clips (counted in run.json). */
  clipped?: number;
}

export interface Filter {
  /** Name in logs; run.json counts the applications under this key. */
  readonly name: string;
  /** Runs after steps k, 2k, ... (1-based). */
  readonly every: number;
  /** The filtered image (the input is not modified); `grad` is this step's image gradient. */
  apply(x: Nchw, grad: Nchw): FilterOutput;
}
