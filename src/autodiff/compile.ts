// Programs: a prepared model plus what to differentiate becomes ONNX graph(s) that onnxruntime runs.
//  - fused:  inputs -> outputs + gradients, one graph (seed 1 for a scalar, or upstream gradients as inputs)
//  - split:  a forward graph that also returns the saved tensors, and a backward graph that takes them
//            with the upstream gradients (a vector-Jacobian product), for chaining pieces through TypeScript.
import { FvizError, nearestNames } from '../errors.ts';
import type { Graph, Model, TensorData, ValueInfo } from '../onnx/ir.ts';
import { cloneModel, CANONICAL_OPSET, emptyGraph, emptyModel } from '../onnx/ir.ts';
import { sourceOpset } from '../onnx/control-flow.ts';
import { nodeReads } from '../onnx/topo.ts';
import { tensor } from '../onnx/tensor.ts';
import { appendBackward } from './backward.ts';
import { expandLRN } from './rules/LRN.ts';
import { convTransposeAsConv } from './rewrites/convTransposeAsConv.ts';
import { reluAfterConcat } from './rewrites/reluAfterConcat.ts';
import { scatterIntoSum } from './rewrites/scatterIntoSum.ts';
import { subPixelConvTranspose } from './rewrites/subPixelConvTranspose.ts';

export const GRAD_PREFIX = 'grad:';

export interface GraphRewrite {
  name: string;
  /** 'forward' (default): applied to the model before the backward walk; 'gradient': to the finished gradient graph. */
  stage?: 'forward' | 'gradient';
  /**
   * Rewrites the graph in place into an equal function that onnxruntime runs faster. `keep`: values that
   * must stay as they are (the wrt values, the outputs and extra outputs asked for). At the gradient
   * stage, `forward` holds the names of the forward nodes: nodes that replace forward nodes join it.
   */
  apply(g: Graph, keep: ReadonlySet<string>, forward: Set<string>): void;
}

/**
 * Applied, in order, to a copy of the model before the backward walk (so the gradients are of the rewritten
 * graph), or (stage 'gradient') to the graph with its backward appended.
 */
export const GRAPH_REWRITES: GraphRewrite[] = [
  // LRN as a banded 1x1 Conv and powers: ~7x faster than onnxruntime's LRN kernel, same values.
  { name: 'expandLRN', apply: (g) => expandLRN(g) },
  { name: 'convTransposeAsConv', apply: (g, keep) => convTransposeAsConv(g, keep) },
  { name: 'reluAfterConcat', apply: (g, keep) => reluAfterConcat(g, keep) },
  { name: 'scatterIntoSum', stage: 'gradient', apply: (g) => scatterIntoSum(g) },
  // After the backward walk: only the forward node changes; the gradient stays the strided Conv.
  { name: 'subPixelConvTranspose', stage: 'gradient', apply: (g, keep, forward) => subPixelConvTranspose(g, keep, forward) },
];

export interface GradientSpec {
  /** Forward values whose gradients flow back. With `seedOnes`, each must be a scalar... or any shape (seeded with ones). */
  outputs: string[];
  /** Graph inputs and/or initializers to differentiate with respect to. Initializers become graph inputs. */
  wrt: string[];
  /** Seed every output's gradient with ones (d sum(outputs)) instead of taking upstream gradients as inputs. */
  seedOnes?: boolean;
  /** Further forward values to return. */
  extraOutputs?: string[];
}

export interface FusedProgram {
  model: Model;
  /** Input names: the model's inputs, the wrt initializers, then `grad:<output>` for each upstream gradient. */
  inputs: ValueInfo[];
  /** wrt -> output name of its gradient in the program. */
  gradNames: Map<string, string>;
  /** Initial values of initializers that became inputs (weights). */
  weights: Map<string, TensorData>;
}

export interface SplitProgram {
  forward: Model;
  backward: Model;
  /** Names the forward returns for the backward to take (besides the outputs). */
  saved: string[];
  gradNames: Map<string, string>;
  weights: Map<string, TensorData>;
}

function checkNames(g: Graph, names: string[], what: string): void {
  const known = new Set<string>([...g.valueTypes.keys(), ...g.initializers.keys()]);
  for (const n of names)
    if (!known.has(n))
      throw new FvizError(`unknown tensor '${n}' (${what}); nearest names: ${nearestNames(n, known).join(', ')}`, { subject: n });
}

/** Turn the wrt initializers into graph inputs; returns their values. */
function liftWeights(g: Graph, wrt: string[]): Map<string, TensorData> {
  const weights = new Map<string, TensorData>();
  for (const w of wrt) {
    const t = g.initializers.get(w);
    if (!t) continue;
    g.initializers.delete(w);
    g.inputs.push({ name: w, dtype: t.dtype, shape: [...t.dims] });
    weights.set(w, t);
  }
  return weights;
}

/** Remove nodes and initializers that no output needs. */
export function pruneGraph(g: Graph): void {
  const needed = new Set(g.outputs.map((o) => o.name));
  const kept = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (!n.outputs.some((o) => o && needed.has(o))) continue;
    kept.push(n);
    for (const i of nodeReads(n)) needed.add(i); // subgraphs read enclosing values too
  }
  g.nodes = kept.reverse();
  for (const k of [...g.initializers.keys()]) if (!needed.has(k)) g.initializers.delete(k);
  for (const k of [...g.valueTypes.keys()]) if (!needed.has(k)) g.valueTypes.delete(k);
}

function valueInfo(g: Graph, name: string): ValueInfo {
  const t = g.valueTypes.get(name);
  if (!t) throw new FvizError(`internal: no type for '${name}'`);
  return { name, dtype: t.dtype, shape: [...t.shape] };
}

/** Build the gradient graph in a copy of `model`; returns it and the gradient names. */
function buildGradientGraph(model: Model, spec: GradientSpec) {
  const m = cloneModel(model);
  const g = m.graph;
  const keep = new Set([...spec.wrt, ...spec.outputs, ...(spec.extraOutputs ?? [])]);
  for (const rewrite of GRAPH_REWRITES) if ((rewrite.stage ?? 'forward') === 'forward') rewrite.apply(g, keep, new Set());
  const forwardNames = new Set(g.nodes.map((n) => n.name));
  checkNames(g, spec.outputs, 'output to differentiate');
  checkNames(g, spec.wrt, 'value to differentiate with respect to');
  checkNames(g, spec.extraOutputs ?? [], 'output');
  const weights = liftWeights(g, spec.wrt);
  const seeds = new Map<string, string>();
  const gradInputs: ValueInfo[] = [];
  for (const o of spec.outputs) {
    const t = g.valueTypes.get(o)!;
    if (spec.seedOnes) {
      const shape = t.shape as number[];
      const one = tensor(t.dtype, [], [1]);
      const name = `${GRAD_PREFIX}${o}`;
      g.initializers.set(`${name}:one`, one);
      g.valueTypes.set(`${name}:one`, { dtype: t.dtype, shape: [] });
      g.valueTypes.set(`${name}:shape`, { dtype: 'int64', shape: [shape.length] });
      g.initializers.set(`${name}:shape`, tensor('int64', [shape.length], shape));
      g.nodes.push({ name: `${name}:seed`, opType: 'Expand', domain: '', inputs: [`${name}:one`, `${name}:shape`], outputs: [name], attrs: {} });
      g.valueTypes.set(name, { dtype: t.dtype, shape: [...shape] });
      seeds.set(o, name);
    } else {
      const name = `${GRAD_PREFIX}${o}`;
      g.valueTypes.set(name, { dtype: t.dtype, shape: [...t.shape] });
      gradInputs.push({ name, dtype: t.dtype, shape: [...t.shape] });
      seeds.set(o, name);
    }
  }
  g.inputs.push(...gradInputs);
  const grads = appendBackward(g, { seeds, wrt: spec.wrt, opset: sourceOpset(model) });
  for (const rewrite of GRAPH_REWRITES) if (rewrite.stage === 'gradient') rewrite.apply(g, keep, forwardNames);
  const gradNames = new Map<string, string>();
  const outputs: ValueInfo[] = [];
  const seen = new Set<string>();
  for (const o of [...spec.outputs, ...(spec.extraOutputs ?? [])]) {
    if (seen.has(o)) continue;
    seen.add(o);
    outputs.push(valueInfo(g, o));
  }
  for (const w of spec.wrt) {
    const out = `${GRAD_PREFIX}${w}`;
    // Name the gradient output `grad:<wrt>` through an Identity (outputs must have unique producers).
    g.nodes.push({ name: `${out}:out`, opType: 'Identity', domain: '', inputs: [grads.get(w)!], outputs: [out], attrs: {} });
    g.valueTypes.set(out, g.valueTypes.get(grads.get(w)!)!);
    outputs.push(valueInfo(g, out));
    gradNames.set(w, out);
  }
  g.outputs = outputs;
  m.opsets = [{ domain: '', version: CANONICAL_OPSET }];
  return { m, gradNames, weights, gradInputs, forwardNames };
}

/** One graph computing the outputs and the gradients. */
export function compileFused(model: Model, spec: GradientSpec): FusedProgram {
  const { m, gradNames, weights } = buildGradientGraph(model, spec);
  pruneGraph(m.graph);
  return { model: m, inputs: m.graph.inputs, gradNames, weights };
}

/**
 * Forward and backward as two graphs. The forward returns the outputs and every forward value the
 * backward reads; the backward takes those (same names) plus `grad:<output>` and returns `grad:<wrt>`.
 */
export function compileSplit(model: Model, spec: Omit<GradientSpec, 'seedOnes'>): SplitProgram {
  const { m, gradNames, weights, gradInputs, forwardNames } = buildGradientGraph(model, { ...spec, seedOnes: false });
  const g = m.graph;
  pruneGraph(g);
  // Pruning keeps the order but shifts indices: tell forward from backward nodes by the forward's names.
  const fwd = g.nodes.filter((n) => forwardNames.has(n.name));
  const bwd = g.nodes.filter((n) => !forwardNames.has(n.name));
  const fwdProduced = new Set(fwd.flatMap((n) => n.outputs));
  const inputNames = new Set(g.inputs.map((i) => i.name));
  const gradInputNames = new Set(gradInputs.map((i) => i.name));
  const saved: string[] = [];
  const savedSet = new Set<string>();
  const bwdInits = new Map<string, TensorData>();
  for (const n of bwd)
    for (const i of n.inputs) {
      if (!i || savedSet.has(i) || gradInputNames.has(i)) continue;
      if (fwdProduced.has(i) || inputNames.has(i)) {
        savedSet.add(i);
        saved.push(i);
      } else if (g.initializers.has(i)) bwdInits.set(i, g.initializers.get(i)!);
    }
  const fwdGraph = emptyGraph(`${g.name}_forward`);
  fwdGraph.nodes = fwd;
  fwdGraph.inputs = g.inputs.filter((i) => !gradInputNames.has(i.name));
  const fwdOutputs = new Set<string>();
  for (const o of [...spec.outputs, ...(spec.extraOutputs ?? []), ...saved.filter((s) => fwdProduced.has(s))]) {
    if (fwdOutputs.has(o)) continue;
    fwdOutputs.add(o);
    fwdGraph.outputs.push(valueInfo(g, o));
  }
  for (const n of fwd) for (const i of nodeReads(n)) if (g.initializers.has(i)) fwdGraph.initializers.set(i, g.initializers.get(i)!);
  for (const [k, v] of g.valueTypes) fwdGraph.valueTypes.set(k, v);
  pruneGraph(fwdGraph);

  const bwdGraph = emptyGraph(`${g.name}_backward`);
  bwdGraph.nodes = bwd;
  bwdGraph.inputs = [...saved.map((s) => valueInfo(g, s)), ...gradInputs];
  bwdGraph.initializers = bwdInits;
  bwdGraph.outputs = [...gradNames.values()].map((n) => valueInfo(g, n));
  for (const [k, v] of g.valueTypes) bwdGraph.valueTypes.set(k, v);
  pruneGraph(bwdGraph);
  // pruneGraph may have dropped saved values the backward no longer reads.
  const bwdReads = new Set(bwdGraph.nodes.flatMap((n) => n.inputs));
  bwdGraph.inputs = bwdGraph.inputs.filter((i) => bwdReads.has(i.name) || gradInputNames.has(i.name));
  const savedUsed = saved.filter((s) => bwdReads.has(s));
  return {
    forward: emptyModelLike(model, fwdGraph),
    backward: emptyModelLike(model, bwdGraph),
    saved: savedUsed,
    gradNames,
    weights,
  };
}

function emptyModelLike(model: Model, graph: Graph): Model {
  const m = emptyModel(graph, CANONICAL_OPSET);
  m.metadata = { ...model.metadata };
  return m;
}
