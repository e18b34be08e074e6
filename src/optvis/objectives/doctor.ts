// `fviz doctor`: which ops of a model the gradient compiler covers, then a finite-difference check of the
// compiled gradient at a random input for a random objective (directional derivatives along random directions).
import { FvizError } from '../../errors.ts';
import type { Model, TensorData } from '../../onnx/ir.ts';
import { sizeOf } from '../../onnx/ir.ts';
import { prepareModel } from '../../onnx/prepare.ts';
import { readModel } from '../../onnx/proto.ts';
import { findPreSoftmax } from './build.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';
import { Rng } from '../../util/rng.ts';
import { activeValues } from '../../autodiff/backward.ts';
import { compileFused } from '../../autodiff/compile.ts';
import { ObjectiveGradient } from './gradient.ts';
import { supportedOps } from '../../autodiff/rules/index.ts';
import { appendObjective } from './build.ts';
import { isFloat } from '../../onnx/tensor.ts';

export interface OpCoverage {
  op: string;
  count: number;
  covered: boolean;
}

export interface DoctorReport {
  model: string;
  ops: OpCoverage[];
  missing: string[];
  check?: {
    objective: string;
    directions: number;
    /** Worst relative error |fd - <g,v>| / max(|fd|, |<g,v>|) over the directions. */
    worstRelError: number;
    results: { step: number; analytic: number; numeric: number; relError: number }[];
  };
  skipped?: string;
}

const NON_DIFFERENTIABLE = new Set(['Shape', 'Size', 'Constant', 'ConstantOfShape', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'Less', 'Not', 'And', 'Or', 'Range', 'NonZero']);

export function opCoverage(model: Model): OpCoverage[] {
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) {
    const op = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const covered = new Set([...supportedOps(), ...NON_DIFFERENTIABLE]);
  return [...counts].map(([op, count]) => ({ op, count, covered: covered.has(op) })).sort((a, b) => b.count - a.count || (a.op < b.op ? -1 : 1));
}

function randomObjective(model: Model, rng: Rng): string {
  const g = model.graph;
  const pre = findPreSoftmax(g);
  if (pre) {
    const shape = g.valueTypes.get(pre)!.shape as number[];
    return `class:${rng.int(shape[shape.length - 1]!)}`;
  }
  const active = activeValues(g, [g.inputs[0]!.name]);
  const candidates = [...g.valueTypes]
    .filter(([n, t]) => active.has(n) && isFloat(t.dtype) && t.shape.length >= 2 && n !== g.inputs[0]!.name)
    .map(([n]) => n);
  if (candidates.length === 0) throw new FvizError('doctor: the model has no intermediate tensor that depends on its input');
  const name = candidates[rng.int(candidates.length)]!;
  const shape = g.valueTypes.get(name)!.shape as number[];
  return `${name}:${rng.int(shape[1]!)}`;
}

export async function doctor(modelPath: string, opts: SessionOptions & { seed?: number; objective?: string; directions?: number } = {}): Promise<DoctorReport> {
  const raw = readModel(modelPath);
  const model = prepareModel(raw, { batch: 1 });
  const ops = opCoverage(model);
  const missing = ops.filter((o) => !o.covered).map((o) => o.op);
  const report: DoctorReport = { model: modelPath, ops, missing };
  if (missing.length) {
    report.skipped = `gradient check skipped: no rule for ${missing.join(', ')}`;
    return report;
  }
  const rng = new Rng(opts.seed ?? 0);
  const input = model.graph.inputs[0]!;
  const objective = opts.objective ?? randomObjective(model, rng);
  const prog = await ObjectiveGradient.create(model, { ...opts, objective, wrt: [input.name] });
  const shape = input.shape as number[];
  const n = sizeOf(shape);
  const x = new Float32Array(n);
  rng.fillUniform(x, 0, 1);
  const xt: TensorData = { dtype: input.dtype, dims: shape, data: input.dtype === 'float64' ? Float64Array.from(x) : x };
  const res = await prog.run({ [input.name]: xt });
  const g = res.grads.get(input.name)!.data as Float32Array;
  await prog.release();
  // Forward alone, for the finite differences.
  const obj = appendObjective(model, objective);
  const fwd = compileFused(obj.model, { outputs: [obj.scalar], wrt: [], seedOnes: true });
  const session = await Session.create(fwd.model, opts);
  const J = async (v: Float32Array) => Number((await session.run({ [input.name]: { ...xt, data: v } }, [obj.scalar]))[obj.scalar]!.data[0]);
  const directions = opts.directions ?? 3;
  const results: NonNullable<DoctorReport['check']>['results'] = [];
  for (let d = 0; d < directions; d++) {
    const v = new Float32Array(n);
    rng.fillNormal(v);
    let analytic = 0;
    for (let k = 0; k < n; k++) analytic += g[k]! * v[k]!;
    // Several steps; float32 rounding dominates small steps and curvature large ones: keep the best.
    let best = { step: 0, numeric: 0, relError: Infinity };
    for (const step of [1e-2, 3e-3, 1e-3, 3e-4]) {
      const xp = new Float32Array(n);
      const xm = new Float32Array(n);
      for (let k = 0; k < n; k++) {
        xp[k] = x[k]! + step * v[k]!;
        xm[k] = x[k]! - step * v[k]!;
      }
      const numeric = ((await J(xp)) - (await J(xm))) / (2 * step);
      const relError = Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-12);
      if (relError < best.relError) best = { step, numeric, relError };
    }
    results.push({ step: best.step, analytic, numeric: best.numeric, relError: best.relError });
  }
  await session.release();
  report.check = { objective, directions, worstRelError: Math.max(...results.map((r) => r.relError)), results };
  return report;
}
