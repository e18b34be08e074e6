// `fviz doctor`'s finite-difference check: directional derivatives <g, v> of the compiled gradient against
// central differences of the model with its piecewise decisions frozen at the input (freeze-decisions.ts),
// so that steps large enough to beat float32 rounding cross no ReLU or max-pool kink.
import { FvizError } from '../errors.ts';
import type { Model, TensorData, ValueInfo } from '../onnx/ir.ts';
import { cloneModel } from '../onnx/ir.ts';
import { Session, type SessionOptions } from '../runtime/session.ts';
import type { Rng } from '../util/rng.ts';
import { compileFused, pruneGraph } from './compile.ts';
import { DecisionRecorder, freezeModel } from './freeze-decisions.ts';

/**
 * Steps, as fractions of the input's RMS, each a third of the one before. With decisions frozen, a ReLU
 * network is affine along the segment and the largest step is the most accurate; smooth ones need smaller
 * steps, where float32 rounding grows: every step and each Richardson extrapolation of two neighbours is
 * tried, and the best kept.
 */
export const FD_STEPS = [1, 1 / 3, 1 / 9, 1 / 27, 1 / 81, 1 / 243, 1 / 729];

/** Worst relative error `fviz doctor` accepts (the corpus's worst is 7e-5: float32 rounding of smooth models). */
export const DOCTOR_TOLERANCE = 1e-3;

/** Largest relative disagreement between the frozen copy and the model at the input before the check is void. */
export const FROZEN_VALUE_TOLERANCE = 1e-5;

export interface DirectionResult {
  step: number;
  analytic: number;
  numeric: number;
  relError: number;
  /** 'central': (J(x + h v) - J(x - h v)) / 2h; 'extrapolated': Richardson's combination of steps h and 3h. */
  stencil?: 'central' | 'extrapolated';
  /** Decisions of the model (mask entries, pooling windows, ...) that differ from the input's at input +- step v (the larger count). */
  flips?: number;
}

export interface FrozenCheck {
  results: DirectionResult[];
  /** Decision elements frozen (mask entries, pooling windows, comparison results). */
  frozenDecisions: number;
  /** Nodes whose decisions were frozen. */
  frozenNodes: number;
  /** |J_frozen(x0) - J(x0)| / |J(x0)|: the frozen copy must equal the model at the input. */
  frozenValueError: number;
}

/** A session computing `output` of `model` alone. */
async function forwardSession(model: Model, output: string, opts: SessionOptions): Promise<Session> {
  const fwd = compileFused(model, { outputs: [output], wrt: [], seedOnes: true });
  return Session.create(fwd.model, opts);
}

/**
 * `model`: prepared, with the objective appended as scalar output `scalar`; `g`: its compiled gradient
 * with respect to `input` at `x`. Checks <g, v> along `directions` random normal directions v.
 */
export async function frozenDirectionalCheck(
  model: Model,
  scalar: string,
  input: ValueInfo,
  x: TensorData,
  g: ArrayLike<number>,
  rng: Rng,
  directions: number,
  opts: SessionOptions = {},
): Promise<FrozenCheck> {
  const wrt = [input.name];
  // Only decisions that the objective depends on.
  model = cloneModel(model);
  model.graph.outputs = model.graph.outputs.filter((o) => o.name === scalar);
  if (!model.graph.outputs.length) model.graph.outputs = [{ name: scalar, ...model.graph.valueTypes.get(scalar)! }];
  pruneGraph(model.graph);
  const recorder = await DecisionRecorder.create(model, wrt, [scalar], { ...opts, source: 'doctor: decision probe' });
  let session: Session | undefined;
  try {
    const at0 = await recorder.record({ [input.name]: x });
    const value = Number(at0.outputs[scalar]!.data[0]);
    session = await forwardSession(freezeModel(model, wrt, at0.decisions), scalar, { ...opts, source: 'doctor: decision-frozen model' });
    const J = async (data: TensorData['data']) => Number((await session!.run({ [input.name]: { ...x, data } }, [scalar]))[scalar]!.data[0]);
    const x0 = x.data as Float32Array | Float64Array;
    const frozenValue = await J(x0);
    const frozenValueError = Math.abs(frozenValue - value) / Math.max(Math.abs(value), 1e-30);
    const n = x0.length;
    let rms = 0;
    for (let k = 0; k < n; k++) rms += x0[k]! * x0[k]!;
    const scale = Math.sqrt(rms / n) || 1;
    const Ctor = x0 instanceof Float64Array ? Float64Array : Float32Array;
    const results: DirectionResult[] = [];
    for (let d = 0; d < directions; d++) {
      const v = new Float64Array(n);
      rng.fillNormal(v);
      let analytic = 0;
      let gg = 0;
      let vv = 0;
      for (let k = 0; k < n; k++) {
        analytic += g[k]! * v[k]!;
        gg += g[k]! * g[k]!;
        vv += v[k]! * v[k]!;
      }
      // A random v is nearly orthogonal to g now and then: errors are relative to at least the typical
      // size of <g, v> (its standard deviation |g| for v ~ N(0, I)), lest a small one inflate them.
      const typical = Math.sqrt((gg * vv) / n);
      let best: DirectionResult & { xp?: InstanceType<typeof Ctor>; xm?: InstanceType<typeof Ctor> } = { step: 0, analytic, numeric: NaN, relError: Infinity };
      const consider = (step: number, numeric: number, stencil: DirectionResult['stencil'], xp: InstanceType<typeof Ctor>, xm: InstanceType<typeof Ctor>) => {
        const relError = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), typical, 1e-30);
        if (relError < best.relError) best = { step, analytic, numeric, relError, stencil, xp, xm };
      };
      let previous: number | undefined;
      for (const fraction of FD_STEPS) {
        const step = fraction * scale;
        const xp = new Ctor(n);
        const xm = new Ctor(n);
        for (let k = 0; k < n; k++) {
          xp[k] = x0[k]! + step * v[k]!;
          xm[k] = x0[k]! - step * v[k]!;
        }
        // The step actually taken, after rounding x0 +- step v to the input's precision.
        let taken = 0;
        for (let k = 0; k < n; k++) taken += (xp[k]! - xm[k]!) * v[k]!;
        const numeric = ((await J(xp)) - (await J(xm))) / (taken / vv);
        consider(step, numeric, 'central', xp, xm);
        // Steps a factor 3 apart: (9 D(h) - D(3h)) / 8 cancels the h^2 term of the central difference.
        if (previous !== undefined) consider(step, (9 * numeric - previous) / 8, 'extrapolated', xp, xm);
        previous = numeric;
      }
      const { xp, xm, ...result } = best;
      if (xp && xm) {
        const plus = await recorder.record({ [input.name]: { ...x, data: xp } });
        const minus = await recorder.record({ [input.name]: { ...x, data: xm } });
        result.flips = Math.max(DecisionRecorder.flips(at0.decisions, plus.decisions), DecisionRecorder.flips(at0.decisions, minus.decisions));
      }
      results.push(result);
    }
    return { results, frozenDecisions: DecisionRecorder.count(at0.decisions), frozenNodes: recorder.nodes, frozenValueError };
  } finally {
    await recorder.release();
    await session?.release();
  }
}

/** The one-line verdict when the frozen copy does not reproduce the model at the input (an fviz bug, not the model's). */
export function frozenMismatch(check: FrozenCheck): string | undefined {
  if (!(check.frozenValueError <= FROZEN_VALUE_TOLERANCE))
    return `doctor: the decision-frozen copy of the model differs from it at the input by ${check.frozenValueError.toExponential(2)} (relative); the finite differences do not check the gradient (a bug in src/autodiff/freeze-decisions.ts)`;
  return undefined;
}

/** Fix the symbolic dims of `input` (of the raw model) from an array's shape; the array must fit the static ones. */
export function fitInputToArray(input: ValueInfo, x: TensorData, source: string): void {
  if (x.dims.length !== input.shape.length)
    throw new FvizError(`${source}: input array has shape [${x.dims}] but '${input.name}' has rank ${input.shape.length} ([${input.shape}])`);
  input.shape.forEach((d, k) => {
    if (typeof d === 'number' && d !== x.dims[k]) throw new FvizError(`${source}: input array has shape [${x.dims}] but '${input.name}' needs [${input.shape}]`);
  });
  for (let k = 0; k < input.shape.length; k++) input.shape[k] = x.dims[k]!;
}
