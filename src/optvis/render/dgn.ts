// DGN-AM (Nguyen et al. 2016): the loop in the code of a generator (param/generator.ts). Each step the
// normalized (or Adam) step on d objective / d code, optional Langevin noise, clipping to the card's
// per-unit bounds, and the L2 factor on the code.
import type { TensorData } from '../../onnx/ir.ts';
import { Rng } from '../../util/rng.ts';
import { clipInPlace, initialCode, type DgnProgram } from '../param/generator.ts';
import { Adam, linearStep, NormalizedStep, type Optimizer } from './optimizers.ts';

export interface DgnOptions {
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
  init: 'zeros' | 'random' | Float32Array;
  /** Std of the random initial code (act_max.py: N(0,1)). */
  initStd?: number;
  seed: number;
  lower?: Float32Array;
  upper?: Float32Array;
  /** Steps whose images to keep (step 0 = the initial code; `steps` = the result). */
  frames?: number[];
  /** Called once per step; returning false stops early. */
  onStep?: (info: { step: number; perItem: number[]; stepSize: number }) => void;
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

/** The DGN-AM loop. */
export async function runDgnAm(program: DgnProgram, opts: DgnOptions): Promise<DgnResult> {
  const shape = program.codeShape;
  const unit = shape[shape.length - 1]!;
  const code = initialCode(shape, opts);
  const rng = new Rng(opts.seed + 7919);
  const optimizer: Optimizer & { skippedNaN: number[] } = opts.optimizer === 'adam' ? new Adam(code.length, unit) : new NormalizedStep(unit);
  const frameSet = new Set(opts.frames ?? []);
  const frames = new Map<number, TensorData>();
  const history: number[][] = [];
  let nanSkips = 0;
  let warned = false;
  const noteNaN = (what: string) => {
    nanSkips++;
    if (!warned) opts.warn?.(`${what}: skipping those steps (reported once; count in run.json)`);
    warned = true;
  };
  for (let i = 0; i < opts.steps; i++) {
    const stepSize = linearStep(opts.startStep, opts.endStep, i, opts.steps) * (opts.optimizer === 'adam' ? (opts.lr ?? 0.05) / opts.startStep : 1);
    const r = await program.run(code);
    history.push(r.perItem);
    if (frameSet.has(i)) frames.set(i, copyImage(r.image));
    opts.onStep?.({ step: i, perItem: r.perItem, stepSize });
    const before = code.slice();
    optimizer.step(code, r.grad, stepSize);
    if (optimizer.skippedNaN.length) noteNaN(`NaN in the gradient of item(s) ${optimizer.skippedNaN.join(', ')} at step ${i}`);
    if (opts.noise) for (let k = 0; k < code.length; k++) code[k]! += opts.noise * rng.normal();
    clipInPlace(code, opts.lower, opts.upper, unit);
    if (opts.l2 > 0 && opts.l2 < 1) for (let k = 0; k < code.length; k++) code[k]! *= opts.l2;
    if (code.some((v) => Number.isNaN(v))) {
      code.set(before);
      noteNaN(`NaN in the code at step ${i}`);
    }
  }
  const last = await program.run(code);
  history.push(last.perItem);
  if (frameSet.has(opts.steps)) frames.set(opts.steps, copyImage(last.image));
  return { code, image: copyImage(last.image), history, frames, final: last.perItem, nanSkips };
}

function copyImage(t: TensorData): TensorData {
  return { dtype: t.dtype, dims: [...t.dims], data: (t.data as Float32Array).slice() };
}
