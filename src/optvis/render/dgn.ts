// DGN-AM (Nguyen et al. 2016): the generator's code (param/generator.ts, a fused parameterization)
// through the render loop. Each step: the normalized (or Adam) step on d objective / d code, optional
// Langevin noise, clipping to the card's per-unit bounds, and the L2 factor on the code.
import type { TensorData } from '../../onnx/ir.ts';
import { Rng } from '../../util/rng.ts';
import { clipInPlace, generatorCode, initialCode, type CodeProgram } from '../param/code.ts';
import { render } from './loop.ts';
import { Adam, linearStep, NormalizedStep, type Optimizer } from './optimizers.ts';

/** What every loop over a generator's code takes: where the code starts, its bounds, the frames kept, a listener. */
export interface CodeRunOptions {
  init: 'zeros' | 'random' | Float32Array;
  /** Std of the random initial code (act_max.py: N(0,1)). */
  initStd?: number;
  seed: number;
  lower?: Float32Array;
  upper?: Float32Array;
  /** Steps whose images to keep (step 0 = the initial code; `steps` = the result; PPGN: the chain's samples). */
  frames?: number[];
  /** Called once per step. */
  onStep?: (info: { step: number; perItem: number[]; stepSize: number }) => void;
}

export interface DgnOptions extends CodeRunOptions {
  steps: number;
  startStep: number;
  endStep: number;
  /** Multiply the code by this after every step (Nguyen: 0.99; 1 disables). */
  l2: number;
  optimizer: 'nguyen' | 'adam';
  /** Adam's learning rate (the step schedule scales it). */
  lr?: number;
  /** Langevin-style noise: add N(0, noise^2) to the code each step (Plug & Play Generative Networks). */
  noise?: number;
  /** Called once with a warning line (e.g. NaN gradients skipped). */
  warn?: (line: string) => void;
}

export interface DgnResult {
  code: Float32Array;
  image: TensorData;
  /** Objective per item at each step (before its update), then the final value. */
  history: number[][];
  frames: Map<number, TensorData>;
  final: number[];
  nanSkips: number;
}

/**
 * act_max.py's update of the code as one optimizer step: the step itself (normalized or Adam), Langevin
 * noise, clipping to the bounds, the L2 factor; NaN gradients skip their item, a step that leaves NaN in
 * the code is undone (each noted once through `warn`, counted in nanSkips).
 */
class CodeUpdate implements Optimizer {
  nanSkips = 0;
  private warned = false;
  private stepIndex = 0;
  private readonly inner: Optimizer & { skippedNaN: number[] };
  private readonly rng: Rng;

  constructor(size: number, private readonly unit: number, private readonly o: DgnOptions) {
    this.inner = o.optimizer === 'adam' ? new Adam(size, unit) : new NormalizedStep(unit);
    this.rng = new Rng(o.seed + 7919);
  }

  private note(what: string): void {
    this.nanSkips++;
    if (!this.warned) this.o.warn?.(`${what}: skipping those steps (reported once; count in run.json)`);
    this.warned = true;
  }

  step(code: Float32Array, grad: Float32Array, stepSize: number): void {
    const i = this.stepIndex++;
    const o = this.o;
    const before = code.slice();
    this.inner.step(code, grad, stepSize);
    if (this.inner.skippedNaN.length) this.note(`NaN in the gradient of item(s) ${this.inner.skippedNaN.join(', ')} at step ${i}`);
    if (o.noise) for (let k = 0; k < code.length; k++) code[k]! += o.noise * this.rng.normal();
    clipInPlace(code, o.lower, o.upper, this.unit);
    if (o.l2 > 0 && o.l2 < 1) for (let k = 0; k < code.length; k++) code[k]! *= o.l2;
    if (code.some((v) => Number.isNaN(v))) {
      code.set(before);
      this.note(`NaN in the code at step ${i}`);
    }
  }
}

/** The DGN-AM loop: the generator's code through the render loop with act_max.py's update. */
export async function runDgnAm(program: CodeProgram, opts: DgnOptions): Promise<DgnResult> {
  const shape = program.codeShape;
  const unit = shape[shape.length - 1]!;
  const code = initialCode(shape, opts);
  const update = new CodeUpdate(code.length, unit, opts);
  const stepSize = (i: number) => linearStep(opts.startStep, opts.endStep, i, opts.steps) * (opts.optimizer === 'adam' ? (opts.lr ?? 0.05) / opts.startStep : 1);
  const res = await render({
    param: generatorCode(program, code),
    steps: opts.steps,
    optimizer: update,
    stepSize,
    frames: opts.frames,
    initial: false,
    onStep: (step, perItem) => opts.onStep?.({ step, perItem, stepSize: stepSize(step) }),
  });
  return { code, image: res.image, history: res.history, frames: res.frames, final: res.final, nanSkips: update.nanSkips };
}
