// Finite differences that kinks cannot fool. A ReLU or max-pool network is piecewise smooth: central
// differences whose steps cross a kink (a ReLU input changing sign, a max-pool window changing winner)
// measure a chord, not the derivative, and float32 rounding rules out steps small enough to stay clear.
// At an input x0 off every kink, the model has the same value and gradient as a copy in which every
// piecewise decision on the input's data path (masks, arg-maxes, clip regions, comparisons, ...) is frozen
// at its value at x0; that copy is smooth along a whole segment through x0, so large steps are accurate.
// A probe (the model plus outputs computing each decision in-graph) is run once at x0; the frozen copy
// replaces each kink node by its linear form over the probe's values.
import { FvizError } from '../errors.ts';
import { GraphBuilder } from '../onnx/builder.ts';
import type { AttrValue, Graph, Model, Node, TensorData } from '../onnx/ir.ts';
import { cloneModel, getFloat, getInt, sizeOf } from '../onnx/ir.ts';
import { isFloat, tensor, toNumbers } from '../onnx/tensor.ts';
import { Session, type Feeds, type SessionOptions } from '../runtime/session.ts';
import { activeValues } from './backward.ts';
import { pruneGraph } from './compile.ts';

/** Appends nodes to a graph, typing every value it creates. */
class Emitter {
  readonly b: GraphBuilder;
  constructor(readonly g: Graph) {
    this.b = new GraphBuilder(g);
  }

  shape(name: string): number[] {
    const t = this.g.valueTypes.get(name);
    if (!t || !t.shape.every((d) => typeof d === 'number')) throw new FvizError(`freezing decisions: '${name}' has no static shape`);
    return t.shape as number[];
  }

  dtype(name: string) {
    const t = this.g.valueTypes.get(name);
    if (!t) throw new FvizError(`freezing decisions: '${name}' has no type`);
    return t.dtype;
  }

  /** One node with output type `type` (a value name to copy the type of, or an explicit dtype and shape). */
  op(opType: string, inputs: string[], type: string | { dtype: TensorData['dtype']; shape: number[] }, attrs: Record<string, AttrValue> = {}, output?: string): string {
    const t = typeof type === 'string' ? { dtype: this.dtype(type), shape: [...this.shape(type)] } : type;
    const out = output ?? this.b.fresh(`freeze:${opType}`);
    this.b.node(opType, inputs, attrs, [out], 'freeze');
    this.g.valueTypes.set(out, t);
    return out;
  }

  /** A comparison (bool result, broadcast shape `like`). */
  test(opType: string, inputs: string[], like: string): string {
    return this.op(opType, inputs, { dtype: 'bool', shape: [...this.shape(like)] });
  }

  scalar(v: number, like: string): string {
    return this.b.constant(tensor(this.dtype(like), [], [v]), 'freeze_const');
  }

  ints(values: number[]): string {
    return this.b.constant(tensor('int64', [values.length], values), 'freeze_ints');
  }

  constant(t: TensorData, base: string): string {
    const name = this.b.fresh(base);
    this.g.initializers.set(name, t);
    this.g.valueTypes.set(name, { dtype: t.dtype, shape: [...t.dims] });
    return name;
  }
}

interface KinkSpec {
  /** Appends the nodes computing the node's decisions at the probe input; returns their names. */
  probe(e: Emitter, node: Node): string[];
  /** Appends nodes computing the node's outputs (same names) with the decisions held at `d`. */
  freeze(e: Emitter, node: Node, d: string[]): void;
}

/** The reduced axes of a Reduce* node (opset 17: an attribute; ReduceSum-style: a constant input). */
function reduceAxes(e: Emitter, node: Node): number[] {
  const r = e.shape(node.inputs[0]!).length;
  let axes = node.attrs['axes']?.ints;
  if (node.inputs[1]) {
    const c = e.g.initializers.get(node.inputs[1]);
    if (!c) throw new FvizError(`${node.opType} node '${node.name}': axes must be constant to freeze its decisions`);
    axes = toNumbers(c);
  }
  if (!axes || axes.length === 0) return getInt(node, 'noop_with_empty_axes', 0) ? [] : Array.from({ length: r }, (_, i) => i);
  return axes.map((a) => (a < 0 ? a + r : a)).sort((p, q) => p - q);
}

// Explicit axes everywhere; an empty list reduces nothing (a Reduce* node with noop_with_empty_axes).
const REDUCE_KEEP: Record<string, AttrValue> = { keepdims: { i: 1 }, noop_with_empty_axes: { i: 1 } };

/** Share of each extreme element: its hit (x == the kept-dims extreme) over the number of hits (the rules split ties evenly). */
function extremeShares(e: Emitter, x: string, extreme: string, axes: number[]): string {
  const hit = e.op('CastLike', [e.test('Equal', [x, extreme], x), x], x);
  const count = e.op('ReduceSum', [hit, e.ints(axes)], { dtype: e.dtype(x), shape: e.shape(x).map((d, i) => (axes.includes(i) ? 1 : d)) }, REDUCE_KEEP);
  return e.op('Div', [hit, count], x);
}

/** Where(positive, x, negativeBranch(x)): LeakyRelu, PRelu, Elu, Selu. */
function positiveSplit(negative: (e: Emitter, node: Node, x: string) => string, scale?: (node: Node) => number): KinkSpec {
  return {
    probe: (e, node) => [e.test('Greater', [node.inputs[0]!, e.scalar(0, node.inputs[0]!)], node.inputs[0]!)],
    freeze: (e, node, [positive]) => {
      const x = node.inputs[0]!;
      const y = node.outputs[0]!;
      const s = scale?.(node);
      const split = e.op('Where', [positive!, x, negative(e, node, x)], y, {}, s === undefined ? y : undefined);
      if (s !== undefined) e.op('Mul', [split, e.scalar(s, x)], y, {}, y);
    },
  };
}

const expm1 = (e: Emitter, x: string) => e.op('Sub', [e.op('Exp', [x], x), e.scalar(1, x)], x);

const KINKS: Record<string, KinkSpec> = {
  Relu: {
    probe: (e, node) => {
      const x = node.inputs[0]!;
      return [e.op('CastLike', [e.test('Greater', [x, e.scalar(0, x)], x), x], x)];
    },
    freeze: (e, node, [mask]) => void e.op('Mul', [node.inputs[0]!, mask!], node.outputs[0]!, {}, node.outputs[0]!),
  },
  ThresholdedRelu: {
    probe: (e, node) => {
      const x = node.inputs[0]!;
      return [e.op('CastLike', [e.test('Greater', [x, e.scalar(getFloat(node, 'alpha', 1), x)], x), x], x)];
    },
    freeze: (e, node, [mask]) => void e.op('Mul', [node.inputs[0]!, mask!], node.outputs[0]!, {}, node.outputs[0]!),
  },
  // y = x - bias above lambd, x + bias below -lambd, 0 between.
  Shrink: {
    probe: (e, node) => {
      const x = node.inputs[0]!;
      const lambd = getFloat(node, 'lambd', 0.5);
      return [e.test('Greater', [x, e.scalar(lambd, x)], x), e.test('Less', [x, e.scalar(-lambd, x)], x)];
    },
    freeze: (e, node, [high, low]) => {
      const x = node.inputs[0]!;
      const bias = e.scalar(getFloat(node, 'bias', 0), x);
      const lower = e.op('Where', [low!, e.op('Add', [x, bias], x), e.scalar(0, x)], x);
      e.op('Where', [high!, e.op('Sub', [x, bias], x), lower], node.outputs[0]!, {}, node.outputs[0]!);
    },
  },
  Celu: positiveSplit((e, node, x) => {
    const alpha = e.scalar(getFloat(node, 'alpha', 1), x);
    return e.op('Mul', [expm1(e, e.op('Div', [x, alpha], x)), alpha], x);
  }),
  LeakyRelu: positiveSplit((e, node, x) => e.op('Mul', [x, e.scalar(getFloat(node, 'alpha', 0.01), x)], x)),
  PRelu: positiveSplit((e, node, x) => e.op('Mul', [x, node.inputs[1]!], node.outputs[0]!)),
  Elu: positiveSplit((e, node, x) => e.op('Mul', [expm1(e, x), e.scalar(getFloat(node, 'alpha', 1), x)], x)),
  Selu: positiveSplit(
    (e, node, x) => e.op('Mul', [expm1(e, x), e.scalar(getFloat(node, 'alpha', 1.67326319217681884765625), x)], x),
    (node) => getFloat(node, 'gamma', 1.05070102214813232421875),
  ),
  // Clip(x, min?, max?) = min(max(x, min), max), bounds inclusive (as its rule): below, then above (which wins).
  Clip: {
    probe: (e, node) => {
      const [x, min = '', max = ''] = node.inputs as [string, string?, string?];
      const d: string[] = [];
      if (min) d.push(e.test('Less', [x, min], x));
      if (max) d.push(e.test('Greater', [min ? e.op('Max', [x, min], x) : x, max], x));
      return d;
    },
    freeze: (e, node, d) => {
      const [x, min = '', max = ''] = node.inputs as [string, string?, string?];
      const y = node.outputs[0]!;
      if (!min && !max) return void e.op('Identity', [x], y, {}, y);
      const lowered = min ? e.op('Where', [d[0]!, min, x], x, {}, max ? undefined : y) : x;
      if (max) e.op('Where', [d[min ? 1 : 0]!, max, lowered], y, {}, y);
    },
  },
  // y = max(0, min(1, alpha x + beta)); its rule passes the gradient strictly inside (0, 1).
  HardSigmoid: {
    probe: (e, node) => {
      const y = node.outputs[0]!;
      return [e.op('Not', [e.test('Greater', [y, e.scalar(0, y)], y)], { dtype: 'bool', shape: e.shape(y) }), e.op('Not', [e.test('Less', [y, e.scalar(1, y)], y)], { dtype: 'bool', shape: e.shape(y) })];
    },
    freeze: (e, node, [low, high]) => {
      const x = node.inputs[0]!;
      const y = node.outputs[0]!;
      const ramp = e.op('Add', [e.op('Mul', [x, e.scalar(getFloat(node, 'alpha', 0.2), x)], x), e.scalar(getFloat(node, 'beta', 0.5), x)], x);
      e.op('Where', [low!, e.scalar(0, x), e.op('Where', [high!, e.scalar(1, x), ramp], x)], y, {}, y);
    },
  },
  // y = x max(0, min(1, x/6 + 1/2)); its rule: 0 below -3, 1 above 3.
  HardSwish: {
    probe: (e, node) => {
      const x = node.inputs[0]!;
      return [e.test('Less', [x, e.scalar(-3, x)], x), e.test('Greater', [x, e.scalar(3, x)], x)];
    },
    freeze: (e, node, [low, high]) => {
      const x = node.inputs[0]!;
      const ramp = e.op('Add', [e.op('Mul', [x, e.scalar(1 / 6, x)], x), e.scalar(0.5, x)], x);
      const gate = e.op('Where', [low!, e.scalar(0, x), e.op('Where', [high!, e.scalar(1, x), ramp], x)], x);
      e.op('Mul', [x, gate], node.outputs[0]!, {}, node.outputs[0]!);
    },
  },
  Abs: {
    probe: (e, node) => [e.op('Sign', [node.inputs[0]!], node.inputs[0]!)],
    freeze: (e, node, [sign]) => void e.op('Mul', [node.inputs[0]!, sign!], node.outputs[0]!, {}, node.outputs[0]!),
  },
  ReduceL1: {
    probe: (e, node) => [e.op('Sign', [node.inputs[0]!], node.inputs[0]!)],
    freeze: (e, node, [sign]) => {
      const x = node.inputs[0]!;
      const y = node.outputs[0]!;
      e.op('ReduceSum', [e.op('Mul', [x, sign!], x), e.ints(reduceAxes(e, node))], y, { keepdims: { i: getInt(node, 'keepdims', 1) }, noop_with_empty_axes: { i: 1 } }, y);
    },
  },
  ReduceMax: reduceExtreme(),
  ReduceMin: reduceExtreme(),
  // y = sum_i a_i M_i with M_i = [a_i == y] / (number of hits), as the rule splits ties.
  Max: maxMin(),
  Min: maxMin(),
  GlobalMaxPool: {
    probe: (e, node) => {
      const x = node.inputs[0]!;
      return [extremeShares(e, x, node.outputs[0]!, spatialAxes(e, x))];
    },
    freeze: (e, node, [shares]) => {
      const x = node.inputs[0]!;
      const y = node.outputs[0]!;
      e.op('ReduceSum', [e.op('Mul', [x, shares!], x), e.ints(spatialAxes(e, x))], y, REDUCE_KEEP, y);
    },
  },
  // onnxruntime's Indices count row-major over the whole input (batch and channel offsets included, padding not).
  MaxPool: {
    probe: (e, node) => {
      const attrs = { ...node.attrs };
      delete attrs['storage_order'];
      const y = node.outputs[0]!;
      const idx = e.b.fresh('freeze:MaxPool_indices');
      e.b.node('MaxPool', [node.inputs[0]!], attrs, [e.b.fresh('freeze:MaxPool_values'), idx], 'freeze');
      e.g.valueTypes.set(idx, { dtype: 'int64', shape: [...e.shape(y)] });
      // A used Indices output becomes a constant.
      return node.outputs[1] ? [idx, node.outputs[1]] : [idx];
    },
    freeze: (e, node, [idx, indices]) => {
      const x = node.inputs[0]!;
      const flat = e.op('Reshape', [x, e.ints([-1])], { dtype: e.dtype(x), shape: [sizeOf(e.shape(x))] });
      e.op('Gather', [flat, idx!], node.outputs[0]!, { axis: { i: 0 } }, node.outputs[0]!);
      if (indices) alias(e, indices, node.outputs[1]!);
    },
  },
  TopK: {
    probe: (e, node) => [node.outputs[1]!],
    freeze: (e, node, [idx]) => {
      const x = node.inputs[0]!;
      const axis = getInt(node, 'axis', -1);
      if (node.outputs[0]) e.op('GatherElements', [x, idx!], node.outputs[0], { axis: { i: axis } }, node.outputs[0]);
      alias(e, idx!, node.outputs[1]!);
    },
  },
};

/** Value `name` = the frozen constant `constant`. */
function alias(e: Emitter, constant: string, name: string): void {
  e.op('Identity', [constant], constant, {}, name);
}

function spatialAxes(e: Emitter, x: string): number[] {
  return Array.from({ length: e.shape(x).length - 2 }, (_, i) => i + 2);
}

function reduceExtreme(): KinkSpec {
  return {
    probe: (e, node) => {
      const x = node.inputs[0]!;
      const axes = reduceAxes(e, node);
      const attrs: Record<string, AttrValue> = { keepdims: { i: 1 }, ...(axes.length ? { axes: { ints: axes } } : {}) };
      const kept = axes.length ? e.op(node.opType, [x], { dtype: e.dtype(x), shape: e.shape(x).map((d, i) => (axes.includes(i) ? 1 : d)) }, attrs) : x;
      return [extremeShares(e, x, kept, axes)];
    },
    freeze: (e, node, [shares]) => {
      const x = node.inputs[0]!;
      const y = node.outputs[0]!;
      e.op('ReduceSum', [e.op('Mul', [x, shares!], x), e.ints(reduceAxes(e, node))], y, { keepdims: { i: getInt(node, 'keepdims', 1) }, noop_with_empty_axes: { i: 1 } }, y);
    },
  };
}

function maxMin(): KinkSpec {
  return {
    probe: (e, node) => {
      const y = node.outputs[0]!;
      const hits = node.inputs.map((a) => e.op('CastLike', [e.test('Equal', [a, y], y), y], y));
      const count = e.op('Sum', hits, y);
      return hits.map((h) => e.op('Div', [h, count], y));
    },
    freeze: (e, node, shares) => {
      const y = node.outputs[0]!;
      e.op('Sum', node.inputs.map((a, k) => e.op('Mul', [a, shares[k]!], y)), y, {}, y);
    },
  };
}

/** Ops whose float output is piecewise constant: frozen to their value. */
const STEPS = new Set(['Sign', 'Floor', 'Ceil', 'Round']);
/** Non-float results that depend on shapes alone, not on values. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

/** Frozen to constants: its outputs are the decisions. */
const CONSTANT: KinkSpec = {
  probe: (_e, node) => node.outputs.filter((o) => o),
  freeze: (e, node, d) => {
    const outs = node.outputs.filter((o) => o);
    outs.forEach((o, k) => alias(e, d[k]!, o));
  },
};

export interface Decision {
  node: Node;
  spec: KinkSpec;
}

/** The nodes of `g` on the data path of `wrt` that make a piecewise decision, in graph order. */
export function decisionNodes(g: Graph, wrt: string[]): Decision[] {
  const active = activeValues(g, wrt);
  const out: Decision[] = [];
  for (const node of g.nodes) {
    if (node.domain !== '' || !node.inputs.some((i) => i && active.has(i))) continue;
    const kink = KINKS[node.opType];
    if (kink) {
      if ((node.opType === 'Max' || node.opType === 'Min') && node.inputs.length < 2) continue;
      out.push({ node, spec: kink });
      continue;
    }
    const floatOut = node.outputs.some((o) => o && isFloat(g.valueTypes.get(o)?.dtype ?? 'float32'));
    if (STEPS.has(node.opType) || (!floatOut && !SHAPE_ONLY.has(node.opType) && !node.attrs['then_branch'] && !node.attrs['body'])) out.push({ node, spec: CONSTANT });
  }
  return out;
}

export interface DecisionProbe {
  /** The model with the decisions as extra outputs (after the model's own outputs). */
  model: Model;
  decisions: Decision[];
  /** For each decision node, the names of its decision tensors in the probe's outputs. */
  names: string[][];
}

/** A copy of `model` (prepared, static shapes) that also outputs every decision on the data path of `wrt`. */
export function buildProbe(model: Model, wrt: string[], outputs: string[]): DecisionProbe {
  const m = cloneModel(model);
  const g = m.graph;
  const decisions = decisionNodes(g, wrt);
  const e = new Emitter(g);
  const names = decisions.map((d) => d.spec.probe(e, d.node));
  const all = [...new Set([...outputs, ...names.flat()])];
  g.outputs = all.map((name) => {
    const t = g.valueTypes.get(name);
    if (!t) throw new FvizError(`freezing decisions: '${name}' has no type`);
    return { name, dtype: t.dtype, shape: [...t.shape] };
  });
  pruneGraph(g);
  return { model: m, decisions, names };
}

/**
 * A copy of `model` in which every decision node of `decisionNodes(model.graph, wrt)` is replaced by its
 * linear form over `values` (per node, the values of its decision tensors, as the probe returned them).
 */
export function freezeModel(model: Model, wrt: string[], values: TensorData[][]): Model {
  const m = cloneModel(model);
  const g = m.graph;
  const decisions = decisionNodes(g, wrt);
  if (decisions.length !== values.length) throw new FvizError(`freezing decisions: ${decisions.length} decision nodes but ${values.length} value sets`);
  const byNode = new Map(decisions.map((d, k) => [d.node, k]));
  const e = new Emitter(g);
  const original = g.nodes;
  g.nodes = [];
  for (const node of original) {
    const k = byNode.get(node);
    if (k === undefined) {
      g.nodes.push(node);
      continue;
    }
    const consts = values[k]!.map((t) => e.constant(t, `frozen:${node.name}`));
    decisions[k]!.spec.freeze(e, node, consts);
  }
  return m;
}

/** Number of elements where any decision tensor of one node differs between two probe results. */
function flipsOf(a: TensorData[], b: TensorData[]): number {
  const n = a[0]?.data.length ?? 0;
  const flipped = new Uint8Array(n);
  for (let t = 0; t < a.length; t++) {
    const p = a[t]!.data;
    const q = b[t]!.data;
    if (p.length !== n) continue;
    for (let i = 0; i < n; i++) if (p[i] !== q[i]) flipped[i] = 1;
  }
  return flipped.reduce((s, v) => s + v, 0);
}

function copyOut(t: TensorData): TensorData {
  const data = Array.isArray(t.data) ? [...t.data] : t.data.slice();
  return { dtype: t.dtype, dims: [...t.dims], data } as TensorData;
}

/** The probe compiled once: decisions at any input, and how many flip between two inputs. */
export class DecisionRecorder {
  private constructor(
    readonly probe: DecisionProbe,
    private readonly session: Session,
    private readonly outputs: string[],
  ) {}

  static async create(model: Model, wrt: string[], outputs: string[], opts: SessionOptions = {}): Promise<DecisionRecorder> {
    const probe = buildProbe(model, wrt, outputs);
    return new DecisionRecorder(probe, await Session.create(probe.model, { ...opts, source: opts.source ?? 'decision probe' }), outputs);
  }

  /** Number of decision nodes. */
  get nodes(): number {
    return this.probe.decisions.length;
  }

  /** The model's outputs and each decision node's decision tensors at `feeds`. */
  async record(feeds: Feeds): Promise<{ outputs: Record<string, TensorData>; decisions: TensorData[][] }> {
    const res = await this.session.run(feeds, this.probe.model.graph.outputs.map((o) => o.name));
    const outputs: Record<string, TensorData> = {};
    for (const o of this.outputs) outputs[o] = res[o]!;
    return { outputs, decisions: this.probe.names.map((names) => names.map((n) => copyOut(res[n]!))) };
  }

  /** Decision elements (mask entries, pooling windows, ...) of every node. */
  static count(decisions: TensorData[][]): number {
    return decisions.reduce((s, d) => s + (d[0]?.data.length ?? 0), 0);
  }

  static flips(a: TensorData[][], b: TensorData[][]): number {
    return a.reduce((s, d, k) => s + flipsOf(d, b[k]!), 0);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
