// Finite-difference checks of compiled gradients: the analytic gradient of a random projection
// sum(R * outputs) against central differences of the forward, both run by onnxruntime.
import { GraphBuilder } from '../../src/onnx/builder.ts';
import type { DType, Graph, Model, TensorData } from '../../src/onnx/ir.ts';
import { cloneModel, emptyGraph, emptyModel, sizeOf } from '../../src/onnx/ir.ts';
import { prepareModel } from '../../src/onnx/prepare.ts';
import { compileFused, pruneGraph } from '../../src/autodiff/compile.ts';
import { Session } from '../../src/runtime/session.ts';
import { Rng } from '../../src/util/rng.ts';
import { arrayCtor, toFloat64 } from '../../src/onnx/tensor.ts';

export interface CheckInput {
  name: string;
  shape: number[];
  /** Optional fixed values (else standard normal). */
  values?: number[];
  /** Integer inputs (indices) are fed as given, never differentiated. */
  dtype?: DType;
}

export interface GradCheckOptions {
  dtype?: 'float32' | 'float64';
  inputs: CheckInput[];
  /** Values to differentiate with respect to (inputs or initializers); default: every float input. */
  wrt?: string[];
  /** Finite-difference step (default 1e-6 for float64, 1e-2 for float32). */
  eps?: number;
  /** Coordinates sampled per wrt value (default: all up to 48). */
  samples?: number;
  seed?: number;
  /** Shift applied to sampled input values, e.g. to keep them away from kinks. */
  transform?: (v: number) => number;
  /** Opset the model under test declares (default 17); newer forms are normalized by prepareModel. */
  opset?: number;
}

export interface GradCheckResult {
  /** ||analytic - numeric|| / ||numeric|| over the sampled coordinates of every wrt value. */
  relError: number;
  worst: { wrt: string; index: number; analytic: number; numeric: number };
  gradients: Map<string, Float64Array>;
}

export function buildModel(dtype: DType, inputs: CheckInput[], build: (b: GraphBuilder, g: Graph) => string[], opset?: number): Model {
  const g = emptyGraph('check');
  for (const i of inputs) g.inputs.push({ name: i.name, dtype: i.dtype ?? dtype, shape: [...i.shape] });
  const b = new GraphBuilder(g);
  const outs = build(b, g);
  g.outputs = outs.map((o) => ({ name: o, dtype, shape: [] }));
  return emptyModel(g, opset);
}

/** Runs the check. `build` emits the nodes under test and returns the outputs to differentiate. */
export async function gradCheck(opts: GradCheckOptions, build: (b: GraphBuilder, g: Graph) => string[]): Promise<GradCheckResult> {
  const dtype = opts.dtype ?? 'float64';
  const rng = new Rng(opts.seed ?? 1);
  const raw = buildModel(dtype, opts.inputs, build, opts.opset);
  const model = prepareModel(raw);
  const g = model.graph;
  const outs = g.outputs.map((o) => o.name);
  // Objective: sum over outputs of sum(R * out), R random (fixed).
  const gb = new GraphBuilder(g);
  const parts: string[] = [];
  for (const o of outs) {
    const t = g.valueTypes.get(o)!;
    const shape = t.shape as number[];
    const R = new (arrayCtor(dtype))(sizeOf(shape)) as Float64Array;
    rng.fillNormal(R);
    const r = gb.constant({ dtype, dims: shape, data: R }, 'proj');
    const p = gb.op('Mul', [o, r]);
    g.valueTypes.set(p, { dtype, shape });
    const s = gb.op('ReduceSum', [p], { keepdims: { i: 0 } });
    g.valueTypes.set(s, { dtype, shape: [] });
    parts.push(s);
  }
  const J = parts.length === 1 ? parts[0]! : gb.op('Sum', parts);
  g.valueTypes.set(J, { dtype, shape: [] });
  g.outputs = [{ name: J, dtype, shape: [] }];
  const floatInputs = opts.inputs.filter((i) => !i.dtype || i.dtype === dtype).map((i) => i.name);
  const wrt = opts.wrt ?? floatInputs;
  const feeds: Record<string, TensorData> = {};
  for (const i of opts.inputs) {
    const dt = i.dtype ?? dtype;
    const n = sizeOf(i.shape);
    const data = new (arrayCtor(dt))(n);
    for (let k = 0; k < n; k++) {
      const v = i.values ? i.values[k]! : opts.transform ? opts.transform(rng.normal()) : rng.normal();
      if (data instanceof BigInt64Array) data[k] = BigInt(v);
      else (data as Float64Array)[k] = v;
    }
    feeds[i.name] = { dtype: dt, dims: [...i.shape], data };
  }
  const prog = compileFused(model, { outputs: [J], wrt, seedOnes: true });
  const session = await Session.create(prog.model, { threads: 1 });
  for (const [w, t] of prog.weights) feeds[w] = t;
  const res = await session.run(feeds);
  // Numeric: the forward alone (the objective J), with the lifted weights as inputs too.
  const fwdModel = forwardOnly(prog.model, J);
  const fwd = await Session.create(fwdModel, { threads: 1 });
  const evalJ = async (f: Record<string, TensorData>) => Number((await fwd.run(f, [J]))[J]!.data[0]);
  const eps = opts.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  let num2 = 0;
  let diff2 = 0;
  let worst = { wrt: '', index: -1, analytic: 0, numeric: 0 };
  let worstErr = -1;
  const gradients = new Map<string, Float64Array>();
  for (const w of wrt) {
    const analytic = toFloat64(res[prog.gradNames.get(w)!]!);
    gradients.set(w, analytic);
    const base = feeds[w]!;
    const n = base.data.length;
    const count = Math.min(n, opts.samples ?? 48);
    const idx = count === n ? [...Array(n).keys()] : Array.from({ length: count }, () => rng.int(n));
    for (const k of idx) {
      const orig = (base.data as Float64Array)[k]!;
      const plus = { ...base, data: (base.data as Float64Array).slice() };
      (plus.data as Float64Array)[k] = orig + eps;
      const minus = { ...base, data: (base.data as Float64Array).slice() };
      (minus.data as Float64Array)[k] = orig - eps;
      const jp = await evalJ({ ...feeds, [w]: plus });
      const jm = await evalJ({ ...feeds, [w]: minus });
      const numeric = (jp - jm) / (2 * eps);
      const a = analytic[k]!;
      num2 += numeric * numeric;
      diff2 += (a - numeric) ** 2;
      const e = Math.abs(a - numeric) / Math.max(Math.abs(numeric), Math.abs(a), 1e-3);
      if (e > worstErr) {
        worstErr = e;
        worst = { wrt: w, index: k, analytic: a, numeric };
      }
    }
  }
  await session.release();
  await fwd.release();
  return { relError: Math.sqrt(diff2) / Math.max(Math.sqrt(num2), 1e-12), worst, gradients };
}

function forwardOnly(m: Model, J: string): Model {
  const model = cloneModel(m);
  model.graph.outputs = [{ name: J, dtype: model.graph.valueTypes.get(J)!.dtype, shape: [] }];
  const inputs = model.graph.inputs;
  pruneGraph(model.graph);
  model.graph.inputs = inputs;
  return model;
}

/** A named gradient check: the options and the nodes under test. */
export interface GradCase {
  name: string;
  opts: GradCheckOptions;
  build: (b: GraphBuilder, g: Graph) => string[];
}

/** Runs a case; prints the worst coordinate when the relative error reaches `tol`. */
export async function checkCase(c: GradCase, tol: number): Promise<number> {
  const res = await gradCheck(c.opts, c.build);
  if (!(res.relError < tol)) console.error(c.name, res.relError, res.worst);
  return res.relError;
}
