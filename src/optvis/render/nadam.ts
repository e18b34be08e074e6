// NAdam (Dozat 2016, PyTorch's torch.optim.NAdam with momentum decay 0.004), for ascent: Horama runs MaCo
// and feature accentuation with it.
import type { Optimizer } from './optimizers.ts';

export class NAdam implements Optimizer {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  private muProduct = 1;
  constructor(size: number, private readonly beta1 = 0.9, private readonly beta2 = 0.999, private readonly eps = 1e-8, private readonly momentumDecay = 0.004) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  step(x: Float32Array, g: Float32Array, lr: number): void {
    const t = ++this.t;
    const { beta1: b1, beta2: b2 } = this;
    const mu = b1 * (1 - 0.5 * 0.96 ** (t * this.momentumDecay));
    const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * this.momentumDecay));
    this.muProduct *= mu;
    const c2 = 1 - b2 ** t;
    for (let k = 0; k < x.length; k++) {
      const gk = g[k]!;
      if (Number.isNaN(gk)) continue;
      const m = (this.m[k] = b1 * this.m[k]! + (1 - b1) * gk);
      const v = (this.v[k] = b2 * this.v[k]! + (1 - b2) * gk * gk);
      const mHat = (muNext * m) / (1 - this.muProduct * muNext) + ((1 - mu) * gk) / (1 - this.muProduct);
      x[k]! += (lr * mHat) / (Math.sqrt(v / c2) + this.eps);
    }
  }
}
