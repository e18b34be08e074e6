// `fviz doctor`: which ops of a model the gradient compiler covers, then a finite-difference check of the
// compiled gradient at a random input for a random objective (directional derivatives along random directions).
import { FvizError } from '../../errors.ts';
import type { Model, TensorData } from '../../onnx/ir.ts';
import { sizeOf } from '../../onnx/ir.ts';
import { prepareModel } from '../../onnx/prepare.ts';
import { readModel } from '../../onnx/proto.ts';
import { findPreSoftmax } from './build.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import { Rng } from '../../util/rng.ts';
import { activeValues } from '../../autodiff/backward.ts';
import { ObjectiveGradient } from './gradient.ts';
import { modelDigest, programCacheEnabled, programKey } from '../../runtime/program-cache.ts';
import { coveredOps, formatUncovered, opKey, uncoveredOps, type UncoveredOp } from '../../autodiff/coverage.ts';
import { appendObjective } from './build.ts';
import { castTensor, isFloat } from '../../onnx/tensor.ts';
import { fitInputToArray, frozenDirectionalCheck, frozenMismatch, type DirectionResult } from '../../autodiff/doctor-check.ts';
import { basename, resolve } from 'node:path';
import { cardPathFor, readCard } from '../../classifier/card.ts';
import { dynamicSizeError, imageInput, staticSize } from '../../onnx/specialize.ts';

export interface OpCoverage {
  op: string;
  count: number;
  covered: boolean;
}

export interface DoctorReport {
  model: string;
  ops: OpCoverage[];
  missing: string[];
  /** The missing ops with their nodes and opsets. */
  uncovered: UncoveredOp[];
  check?: {
    objective: string;
    directions: number;
    /** Worst relative error |fd - <g,v>| / max(|fd|, |<g,v>|, |g| |v| / sqrt(n)) over the directions. */
    worstRelError: number;
    /** fd: central differences of the model with its piecewise decisions frozen at the input. */
    results: DirectionResult[];
    /** Decision elements frozen (mask entries, pooling windows, comparison results). */
    frozenDecisions: number;
    /** |frozen copy - model| / |model| at the input (0 up to float32 rounding). */
    frozenValueError: number;
    /** Set when the frozen copy does not reproduce the model: the check is void. */
    mismatch?: string;
  };
  skipped?: string;
}

/** Every op of the model with its node count; an op is covered when it has a rule or no node on the data path. */
export function opCoverage(model: Model): OpCoverage[] {
  const counts = new Map<string, number>();
  for (const n of model.graph.nodes) {
    const op = opKey(n.domain, n.opType);
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  const covered = coveredOps();
  const missing = new Set(uncoveredOps(model.graph, model.opsets).map((u) => u.op));
  for (const op of counts.keys()) if (!missing.has(op)) covered.add(op);
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

/** The size to specialize a dynamic image input to: `--size`, else the card's; undefined for static inputs. */
function doctorSize(modelPath: string, raw: Model, given?: [number, number]): [number, number] | undefined {
  const info = imageInput(raw);
  if (given || !info || staticSize(info)) return given;
  const cardPath = cardPathFor(resolve(modelPath));
  const fromCard = cardPath ? readCard(cardPath).input?.size : undefined;
  if (fromCard) return fromCard;
  throw dynamicSizeError(modelPath, info);
}

export async function doctor(
  modelPath: string,
  opts: SessionOptions & { seed?: number; objective?: string; directions?: number; input?: TensorData; size?: [number, number] } = {},
): Promise<DoctorReport> {
  const raw = readModel(modelPath);
  // An input array fixes the input's symbolic dims (else the batch is 1 and the size comes from --size or the card).
  if (opts.input) fitInputToArray(raw.graph.inputs[0]!, opts.input, modelPath);
  const model = prepareModel(raw, { batch: 1, size: doctorSize(modelPath, raw, opts.size), source: modelPath });
  const ops = opCoverage(model);
  const missing = ops.filter((o) => !o.covered).map((o) => o.op);
  const uncovered = uncoveredOps(model.graph, raw.opsets);
  const report: DoctorReport = { model: modelPath, ops, missing, uncovered };
  if (missing.length) {
    report.skipped = `gradient check skipped: no gradient rule for ${uncovered.map(formatUncovered).join('; ')}`;
    return report;
  }
  const rng = new Rng(opts.seed ?? 0);
  const input = model.graph.inputs[0]!;
  const objective = opts.objective ?? randomObjective(model, rng);
  // The compiled program is cached (the model is prepared anyway: the coverage and the check need it).
  const cacheKey = programCacheEnabled()
    ? programKey({ kind: 'doctor', model: await modelDigest(modelPath), inputShape: input.shape, size: opts.size, objective })
    : undefined;
  const prog = await ObjectiveGradient.load(() => model, { ...opts, objective, wrt: [input.name], cacheKey, cacheLabel: `doctor ${objective} on ${basename(modelPath)}` });
  const shape = input.shape as number[];
  const n = sizeOf(shape);
  const x = new Float32Array(n);
  if (!opts.input) rng.fillUniform(x, 0, 1);
  const xt: TensorData = opts.input ? castTensor(opts.input, input.dtype) : { dtype: input.dtype, dims: shape, data: input.dtype === 'float64' ? Float64Array.from(x) : x };
  const res = await prog.run({ [input.name]: xt });
  const g = res.grads.get(input.name)!.data as Float32Array;
  await prog.release();
  // Finite differences on a copy with every ReLU mask, max-pool arg-max, ... frozen at x: no kink to cross.
  const obj = appendObjective(model, objective);
  const fc = await frozenDirectionalCheck(obj.model, obj.scalar, input, xt, g, rng, opts.directions ?? 3, opts);
  const { results, frozenDecisions, frozenValueError } = fc;
  report.check = { objective, directions: results.length, worstRelError: Math.max(...results.map((r) => r.relError)), results, frozenDecisions, frozenValueError };
  report.check.mismatch = frozenMismatch(fc);
  return report;
}
