// PPGN-h's sampler step apart from how its program was made: the settings, the direction
// e1 (R(h) - h) + e2 d log p(y|x) / dh, the noisy (normalized) update clipped to the code's bounds, and the
// code as a fused parameterization over any program that maps h to the objective, its gradient, R(h) and
// the image. PpgnProgram (Node) and the live page (onnxruntime-web) both run through here; it loads no
// compiler and no Node module.
import { DISPLAY_INPUT } from '../../classifier/display-input.ts';
import { asNchw, type Nchw } from '../../image/nchw.ts';
import type { TensorData } from '../../onnx/ir.ts';
import type { Rng } from '../../util/rng.ts';
import type { GradientProgram } from '../objectives/program-run.ts';
import { clipInPlace } from './code.ts';
import type { FusedParam } from './param.ts';

/** The sampler's settings (sampler.py and the class-conditional script of Evolving-AI-Lab/ppgn). */
export interface PpgnSettings {
  steps: number;
  /** Step size at the first and the last step (linear in between). */
  lr: number;
  lrEnd: number;
  /** Multipliers of the prior term R(h) - h, the condition term and the noise std. */
  eps1: number;
  eps2: number;
  eps3: number;
  /** Noise std the schedule falls to, linearly from eps3 as lr to lrEnd (absent: eps3 throughout). A chain that explores with noise
   * early and settles without it ends near a mode it found on its own. */
  eps3End?: number;
  /** sampler.py divides the combined update by its mean |.| per item (step / mean|d| * d); false: the plain formula. */
  normalize: boolean;
}

/** 1_class_conditional_sampling.sh: 200 iterations, lr 1 -> 1, eps1 1e-5, eps2 1, eps3 1e-17, normalized step. */
export const NGUYEN_PPGN: PpgnSettings = { steps: 200, lr: 1, lrEnd: 1, eps1: 1e-5, eps2: 1, eps3: 1e-17, normalize: true };

export interface PpgnEval {
  /** Objective per item (log p(y | x) for class objectives). */
  perItem: number[];
  /** d objective / d h, [N, code]. */
  grad: Float32Array;
  /** R(h) = E(G(h)), [N, code]. */
  recon: Float32Array;
  image: Nchw;
}

/** What the sampler needs of a program over the code h. */
export interface PpgnCodeProgram {
  readonly codeShape: number[];
  run(code: Float32Array): Promise<PpgnEval>;
}

/** A compiled generator -> classifier program (with the display image and E's code as extra outputs) over a code. */
export function fusedPpgnProgram(prog: GradientProgram, codeInput: string, codeShape: number[], codeTensor: string): PpgnCodeProgram {
  return {
    codeShape,
    async run(code) {
      const feed: TensorData = { dtype: 'float32', dims: codeShape, data: code };
      const r = await prog.run({ [codeInput]: feed });
      return {
        perItem: r.perItem,
        grad: r.grads.get(codeInput)!.data as Float32Array,
        recon: Float32Array.from(r.outputs[codeTensor]!.data as Float32Array),
        image: asNchw(r.outputs[DISPLAY_INPUT]!, 'generated image'),
      };
    },
  };
}

/** The sampler's direction before noise: e1 (R(h) - h) + e2 g, in float64 per value. */
export function ppgnDirection(h: Float32Array, recon: Float32Array, grad: Float32Array, s: Pick<PpgnSettings, 'eps1' | 'eps2'>): Float64Array {
  const d = new Float64Array(h.length);
  for (let k = 0; k < h.length; k++) d[k] = s.eps1 * (recon[k]! - h[k]!) + s.eps2 * grad[k]!;
  return d;
}

/**
 * One PPGN-h update of h in place from its direction d (ppgnDirection): d += N(0, e3^2) drawn from `rng`,
 * h += step * d (or step / mean|d| * d per item when normalizing, as sampler.py), then clip to the bounds.
 */
export function ppgnUpdate(h: Float32Array, d: Float64Array, s: Pick<PpgnSettings, 'eps3' | 'normalize'>, step: number, unit: number, rng: Rng, lower?: Float32Array, upper?: Float32Array): void {
  if (s.eps3 > 0) for (let k = 0; k < d.length; k++) d[k]! += s.eps3 * rng.normal();
  for (let item = 0; item * unit < h.length; item++) {
    let scale = step;
    if (s.normalize) {
      let sum = 0;
      for (let k = item * unit; k < (item + 1) * unit; k++) sum += Math.abs(d[k]!);
      if (!(sum > 0)) continue;
      scale = step / (sum / unit);
    }
    for (let k = item * unit; k < (item + 1) * unit; k++) h[k] = h[k]! + scale * d[k]!;
  }
  clipInPlace(h, lower, upper, unit);
}

/** The code as a fused parameterization whose "gradient" is the sampler's direction (prior + condition). */
export function ppgnCode(program: PpgnCodeProgram, code: Float32Array, s: Pick<PpgnSettings, 'eps1' | 'eps2'>, onEval?: (e: PpgnEval) => void): FusedParam {
  return {
    values: code,
    itemSize: program.codeShape[program.codeShape.length - 1]!,
    async evaluate() {
      const e = await program.run(code);
      onEval?.(e);
      return { perItem: e.perItem, grad: Float32Array.from(ppgnDirection(code, e.recon, e.grad, s)), image: e.image };
    },
  };
}
