// PPGN-h sampling through the render loop: the code is a fused parameterization whose direction is
// e1 (R(h) - h) + e2 d log p(y|x) / dh (param/ppgn.ts); the optimizer adds the noise, takes the (normalized)
// step and clips to the bounds. A chain of samples is the loop's frames every K steps. It loads no compiler
// and no Node module: the live page runs it on onnxruntime-web.
import type { Nchw } from '../../image/nchw.ts';
import { Rng } from '../../util/rng.ts';
import { initialCode } from '../param/code.ts';
import { ppgnCode, ppgnUpdate, type PpgnCodeProgram, type PpgnSettings } from '../param/ppgn-step.ts';
import type { CodeRunOptions } from './dgn.ts';
import { render } from './loop.ts';
import { linearStep, type Optimizer } from './optimizers.ts';

export interface PpgnOptions extends PpgnSettings, CodeRunOptions {}

export interface PpgnResult {
  code: Float32Array;
  image: Nchw;
  history: number[][];
  frames: Map<number, Nchw>;
  final: number[];
  /** Mean |R(h) - h| / mean |h| at the last evaluated step: how far the code sits from the round trip's fixed points. */
  reconError: number;
}

/** The noise seed of a run (separate from the initial code's). */
export const ppgnNoiseSeed = (seed: number) => seed + 7919;

class PpgnStep implements Optimizer {
  private readonly rng: Rng;
  private taken = 0;
  constructor(private readonly unit: number, private readonly o: PpgnOptions) {
    this.rng = new Rng(ppgnNoiseSeed(o.seed));
  }
  step(h: Float32Array, d: Float32Array, stepSize: number): void {
    const eps3 = linearStep(this.o.eps3, this.o.eps3End ?? this.o.eps3, this.taken++, this.o.steps);
    ppgnUpdate(h, Float64Array.from(d), { eps3, normalize: this.o.normalize }, stepSize, this.unit, this.rng, this.o.lower, this.o.upper);
  }
}

/** The sampler's steps from the initial code; `frames` keeps the chain. */
export async function runPpgn(program: PpgnCodeProgram, o: PpgnOptions): Promise<PpgnResult> {
  const shape = program.codeShape;
  const unit = shape[shape.length - 1]!;
  const code = initialCode(shape, o);
  let reconError = 0;
  const stepSize = (i: number) => linearStep(o.lr, o.lrEnd, i, o.steps);
  const res = await render({
    param: ppgnCode(program, code, o, (e) => {
      let num = 0;
      let den = 0;
      for (let k = 0; k < code.length; k++) {
        num += Math.abs(e.recon[k]! - code[k]!);
        den += Math.abs(code[k]!);
      }
      reconError = den > 0 ? num / den : 0;
    }),
    steps: o.steps,
    optimizer: new PpgnStep(unit, o),
    stepSize,
    frames: o.frames,
    initial: false,
    onStep: (step, perItem) => o.onStep?.({ step, perItem, stepSize: stepSize(step) }),
  });
  return { code, image: res.image, history: res.history, frames: res.frames, final: res.final, reconError };
}
