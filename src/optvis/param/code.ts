// A generator's code as what the render loop optimizes, apart from how its program was made: the
// starting code, clipping to the card's bounds, and the fused parameterization over any program that maps
// a code to the objective, its gradient and the image. DgnProgram (Node) and the live page (onnxruntime-web)
// both run through here; it loads no compiler and no Node module.
import { DISPLAY_INPUT } from '../../classifier/display-input.ts';
import { FvizError } from '../../errors.ts';
import { asNchw } from '../../image/nchw.ts';
import { sizeOf, type TensorData } from '../../onnx/ir.ts';
import { Rng } from '../../util/rng.ts';
import type { GradientProgram } from '../objectives/program-run.ts';
import type { FusedParam } from './param.ts';

export interface DgnEval {
  /** Objective per batch item. */
  perItem: number[];
  /** d objective / d code, [N, codeSize]. */
  grad: Float32Array;
  /** What the classifier sees: N x 3 x H x W RGB in [0,1] (unclamped). */
  image: TensorData;
}

/** What DGN-AM's loop needs of a program over the code. */
export interface CodeProgram {
  readonly codeShape: number[];
  run(code: Float32Array): Promise<DgnEval>;
}

/** A program over a code, watched: `before` runs ahead of each evaluation, `after` sees each result (frames, timings, painting). */
export function watchCode<E>(
  inner: { readonly codeShape: number[]; run(code: Float32Array): Promise<E> },
  after: (r: E) => void,
  before?: () => Promise<void>,
): { readonly codeShape: number[]; run(code: Float32Array): Promise<E> } {
  return {
    codeShape: inner.codeShape,
    async run(code) {
      if (before) await before();
      const r = await inner.run(code);
      after(r);
      return r;
    },
  };
}

/** A fused generator -> classifier program (compiled with the display image as an extra output) over a code. */
export function fusedCodeProgram(prog: GradientProgram, codeInput: string, codeShape: number[]): CodeProgram & { evaluate(code: TensorData): Promise<DgnEval> } {
  const evaluate = async (code: TensorData): Promise<DgnEval> => {
    const r = await prog.run({ [codeInput]: code });
    return { perItem: r.perItem, grad: r.grads.get(codeInput)!.data as Float32Array, image: r.outputs[DISPLAY_INPUT]! };
  };
  return { codeShape, evaluate, run: (code) => evaluate({ dtype: 'float32', dims: codeShape, data: code }) };
}

/** Clips each unit of the code to its bounds (bounds are per unit, repeated over the batch). */
export function clipInPlace(code: Float32Array, lower: Float32Array | undefined, upper: Float32Array | undefined, unit: number) {
  if (!lower && !upper) return;
  for (let k = 0; k < code.length; k++) {
    const u = k % unit;
    if (lower && code[k]! < lower[u]!) code[k] = lower[u]!;
    if (upper && code[k]! > upper[u]!) code[k] = upper[u]!;
  }
}

export interface CodeInit {
  init: 'zeros' | 'random' | Float32Array;
  /** Std of the random initial code (act_max.py: N(0,1)). */
  initStd?: number;
  seed: number;
  lower?: Float32Array;
  upper?: Float32Array;
}

/** The starting code: zeros, N(0, initStd^2) from the seed, or given; clipped to the bounds. */
export function initialCode(shape: number[], opts: CodeInit): Float32Array {
  const n = sizeOf(shape);
  const unit = shape[shape.length - 1]!;
  if (opts.init instanceof Float32Array) {
    if (opts.init.length !== n && opts.init.length !== unit)
      throw new FvizError(`initial code has ${opts.init.length} values; the generator takes ${unit} per item`);
    const nan = opts.init.reduce((c, v) => c + (Number.isNaN(v) ? 1 : 0), 0);
    if (nan) throw new FvizError(`initial code has ${nan} NaN value(s): give a finite code`);
    const code = new Float32Array(n);
    for (let k = 0; k < n; k++) code[k] = opts.init[k % opts.init.length]!;
    return code;
  }
  const code = new Float32Array(n);
  if (opts.init === 'random') new Rng(opts.seed).fillNormal(code, opts.initStd ?? 1);
  clipInPlace(code, opts.lower, opts.upper, unit);
  return code;
}

/** A generator's code as a fused parameterization: the program evaluates the objective and d objective / d code. */
export function generatorCode(program: CodeProgram, code: Float32Array): FusedParam {
  return {
    values: code,
    itemSize: program.codeShape[program.codeShape.length - 1]!,
    async evaluate() {
      const r = await program.run(code);
      return { perItem: r.perItem, grad: r.grad, image: asNchw(r.image, 'generated image') };
    },
  };
}
