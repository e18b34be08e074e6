// Update rules for gradient ascent: Nguyen's normalized step (step / mean|g| * g) and Adam.
export interface Optimizer {
  /** Ascend: x += update(g). `step` is the current step size (schedules live outside). */
  step(x: Float32Array, g: Float32Array, stepSize: number): void;
}

/** x += stepSize / mean|g| * g, per batch item (items of `itemSize` values). Skips items whose gradient is 0 or NaN. */
export class NormalizedStep implements Optimizer {
  constructor(private readonly itemSize: number) {}
  /** Items skipped at the last step because their gradient was NaN. */
  skippedNaN: number[] = [];

  step(x: Float32Array, g: Float32Array, stepSize: number): void {
    this.skippedNaN = [];
    const n = this.itemSize;
    for (let item = 0; item * n < x.length; item++) {
      let sum = 0;
      for (let k = item * n; k < (item + 1) * n; k++) sum += Math.abs(g[k]!);
      if (Number.isNaN(sum)) {
        this.skippedNaN.push(item);
        continue;
      }
      if (sum === 0) continue;
      const scale = stepSize / (sum / n);
      for (let k = item * n; k < (item + 1) * n; k++) x[k]! += scale * g[k]!;
    }
  }
}

/** Adam (Kingma & Ba) for ascent; NaN gradients are skipped per item. */
export class Adam implements Optimizer {
  private m: Float32Array;
  private v: Float32Array;
  private t = 0;
  constructor(size: number, private readonly itemSize: number, private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly eps = 1e-8) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }
  skippedNaN: number[] = [];

  step(x: Float32Array, g: Float32Array, lr: number): void {
    this.t++;
    this.skippedNaN = [];
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const n = this.itemSize;
    for (let item = 0; item * n < x.length; item++) {
      let bad = false;
      for (let k = item * n; k < (item + 1) * n; k++) if (Number.isNaN(g[k]!)) bad = true;
      if (bad) {
        this.skippedNaN.push(item);
        continue;
      }
      for (let k = item * n; k < (item + 1) * n; k++) {
        const gk = g[k]!;
        const m = (this.m[k] = b1 * this.m[k]! + (1 - b1) * gk);
        const v = (this.v[k] = b2 * this.v[k]! + (1 - b2) * gk * gk);
        x[k]! += (lr * (m / c1)) / (Math.sqrt(v / c2) + this.eps);
      }
    }
  }
}

/** Linear schedule from `start` (step 0) towards `end` (reached at step `steps`), as act_max.py. */
export function linearStep(start: number, end: number, i: number, steps: number): number {
  return start + ((end - start) * i) / steps;
}
