// Parameter updates in TypeScript: SGD with (Nesterov) momentum and L2 weight decay, or Adam with decoupled
// weight decay (AdamW). State is plain Float32Arrays, saved in checkpoints.
import { FvizError } from '../errors.ts';

export type OptimizerKind = 'sgd' | 'adam';

export interface OptimizerOptions {
  kind: OptimizerKind;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface ParamSlot {
  name: string;
  /** Whether weight decay applies (weights of convolutions and fully connected layers, not biases or norms). */
  decay: boolean;
}

export class Optimizer {
  readonly opts: Required<OptimizerOptions>;
  /** Per parameter: SGD velocity, or Adam first and second moments. */
  readonly state = new Map<string, Float32Array>();
  /** Updates applied so far (Adam's bias correction). */
  t = 0;

  constructor(opts: OptimizerOptions) {
    this.opts = {
      momentum: 0.9,
      nesterov: true,
      weightDecay: 5e-4,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      ...opts,
    };
  }

  /** State arrays named `<param>:<slot>`. */
  private slot(name: string, size: number): Float32Array {
    let s = this.state.get(name);
    if (!s) {
      s = new Float32Array(size);
      this.state.set(name, s);
    }
    return s;
  }

  step(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, slots: ParamSlot[], lr: number): void {
    this.t++;
    const o = this.opts;
    for (const { name, decay } of slots) {
      const p = params.get(name)!;
      const g = grads.get(name);
      if (!g) throw new FvizError(`internal: no gradient for '${name}'`);
      const wd = decay ? o.weightDecay : 0;
      if (o.kind === 'sgd') {
        const v = this.slot(`${name}:momentum`, p.length);
        const mu = o.momentum;
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]! + wd * p[i]!;
          const vi = mu * v[i]! + gi;
          v[i] = vi;
          p[i] = p[i]! - lr * (o.nesterov ? gi + mu * vi : vi);
        }
      } else {
        const m = this.slot(`${name}:m`, p.length);
        const v = this.slot(`${name}:v`, p.length);
        const c1 = 1 - o.beta1 ** this.t;
        const c2 = 1 - o.beta2 ** this.t;
        for (let i = 0; i < p.length; i++) {
          const gi = g[i]!;
          m[i] = o.beta1 * m[i]! + (1 - o.beta1) * gi;
          v[i] = o.beta2 * v[i]! + (1 - o.beta2) * gi * gi;
          p[i] = p[i]! - lr * ((m[i]! / c1) / (Math.sqrt(v[i]! / c2) + o.eps) + wd * p[i]!);
        }
      }
    }
  }
}
