// If and Loop nodes in the fold pass: types of their outputs from their bodies (which may read values of
// the enclosing graph), an If whose condition is a constant replaced by the branch it takes, and a Loop
// with a constant trip count and an always-true condition unrolled. What stays is left to onnxruntime, and
// the gradient pass names it when it lies on the objective's path (controlFlowError).
import { FvizError } from '../errors.ts';
import type { Dim, Graph, Model, Node, TensorData, ValueType } from './ir.ts';
import { CANONICAL_OPSET, isStaticShape } from './ir.ts';
import { tensor } from './tensor.ts';
import { inferNode } from './shapes.ts';
import { capturedNames, definedNames, topoSort } from './topo.ts';

export const CONTROL_FLOW_OPS = new Set(['If', 'Loop', 'Scan']);

export function isControlFlow(node: Node): boolean {
  return node.domain === '' && CONTROL_FLOW_OPS.has(node.opType);
}

/** Largest number of nodes a Loop may unroll into. */
export const UNROLL_MAX_NODES = 20000;

/** Metadata key where normalization records the opset the model was exported at (for messages). */
export const SOURCE_OPSET_KEY = 'fviz.source_opset';

export function sourceOpset(model: Model): number {
  const v = Number(model.metadata[SOURCE_OPSET_KEY]);
  return Number.isInteger(v) && v > 0 ? v : CANONICAL_OPSET;
}

// ------------------------------------------------------------------ names

/** Fresh value and node names, unique across a graph and all its subgraphs. */
export class NameSpace {
  private values = new Set<string>();
  private nodes = new Set<string>();
  private counter = 0;

  constructor(graph: Graph) {
    this.add(graph);
  }

  private add(g: Graph): void {
    for (const n of definedNames(g)) this.values.add(n);
    for (const n of g.nodes) {
      this.nodes.add(n.name);
      for (const a of Object.values(n.attrs)) if (a.g) this.add(a.g);
    }
  }

  value(base: string): string {
    return this.pick(this.values, base);
  }

  node(base: string): string {
    return this.pick(this.nodes, base);
  }

  private pick(used: Set<string>, base: string): string {
    let name = base;
    while (used.has(name)) name = `${base}__${++this.counter}`;
    used.add(name);
    return name;
  }
}

// ------------------------------------------------------------------ types of bodies

/** Names defined by a subgraph (its inputs, initializers, node outputs). */
function ownNames(g: Graph): Set<string> {
  return new Set(definedNames(g));
}

/**
 * Infer the output types of subgraph `g` whose inputs have types `inputTypes`, reading enclosing values
 * through `outerTypes` and `outerConsts`. Throws FvizError like inferNode.
 */
export function inferBody(
  g: Graph,
  inputTypes: (ValueType | undefined)[],
  outerTypes: ReadonlyMap<string, ValueType>,
  outerConsts: ReadonlyMap<string, TensorData>,
): ValueType[] {
  const types = new Map<string, ValueType>();
  const consts = new Map<string, TensorData>();
  const look = <T>(own: Map<string, T>, outer: ReadonlyMap<string, T>, k: string) => (own.has(k) ? own.get(k) : outer.get(k));
  g.inputs.forEach((v, k) => types.set(v.name, inputTypes[k] ?? { dtype: v.dtype, shape: [...v.shape] }));
  for (const [k, t] of g.initializers) {
    types.set(k, { dtype: t.dtype, shape: [...t.dims] });
    consts.set(k, t);
  }
  const outerNames = new Set([...outerTypes.keys(), ...outerConsts.keys()]);
  for (const node of topoSort(g, outerNames)) {
    const inTypes = node.inputs.map((i) => (i ? look(types, outerTypes, i) : undefined));
    const inConsts = node.inputs.map((i) => (i ? look(consts, outerConsts, i) : undefined));
    let out: ValueType[];
    if (isControlFlow(node)) {
      const scopeTypes = new Map([...outerTypes, ...types]);
      const scopeConsts = new Map([...outerConsts, ...consts]);
      out = controlFlowTypes(node, scopeTypes, scopeConsts);
    } else out = inferNode(node, inTypes, inConsts);
    node.outputs.forEach((o, k) => o && types.set(o, out[k]!));
    if (node.opType === 'Constant' && node.attrs['value']?.t) consts.set(node.outputs[0]!, node.attrs['value'].t);
  }
  return g.outputs.map((o) => {
    const t = look(types, outerTypes, o.name);
    if (!t) throw new FvizError(`subgraph '${g.name}' has an output '${o.name}' whose type is not known`);
    return t;
  });
}

/** One type both branches fit: equal dims stay, differing ones become unknown. */
function merge(a: ValueType, b: ValueType, unknown: (i: number) => string): ValueType {
  if (a.shape.length !== b.shape.length) return { dtype: a.dtype, shape: a.shape.map((_, i) => unknown(i)) };
  return { dtype: a.dtype, shape: a.shape.map((d, i) => (d === b.shape[i] ? d : unknown(i))) };
}

function fail(node: Node, msg: string): never {
  throw new FvizError(`node '${node.name}' (${node.opType}): ${msg}`, { subject: node.name });
}

/** Output types of an If, Loop or Scan node given the types and constants of its scope. */
export function controlFlowTypes(node: Node, types: ReadonlyMap<string, ValueType>, consts: ReadonlyMap<string, TensorData>): ValueType[] {
  const unknown = (k: number) => (i: number) => `?${node.outputs[k] || node.name}#${i}`;
  if (node.opType === 'If') {
    const thenG = node.attrs['then_branch']?.g;
    const elseG = node.attrs['else_branch']?.g;
    if (!thenG || !elseG) fail(node, 'needs then_branch and else_branch');
    const a = inferBody(thenG, [], types, consts);
    const b = inferBody(elseG, [], types, consts);
    if (a.length !== node.outputs.length || b.length !== node.outputs.length)
      fail(node, `its branches give ${a.length} and ${b.length} outputs for ${node.outputs.length}`);
    const cond = node.inputs[0] ? consts.get(node.inputs[0]) : undefined;
    if (cond) return truthy(cond) ? a : b;
    return a.map((t, k) => merge(t, b[k]!, unknown(k)));
  }
  if (node.opType === 'Loop') {
    const body = node.attrs['body']?.g;
    if (!body) fail(node, 'needs a body');
    const n = node.inputs.length - 2;
    const carried = node.inputs.slice(2).map((i) => types.get(i));
    const inTypes: (ValueType | undefined)[] = [
      { dtype: 'int64', shape: [] },
      { dtype: 'bool', shape: [] },
      ...carried,
    ];
    const out = inferBody(body, inTypes, types, consts);
    const trip = node.inputs[0] ? consts.get(node.inputs[0]) : undefined;
    const count: Dim = trip ? Number(scalar(trip)) : `?${node.name}#trips`;
    // Carried values keep the body's type where it agrees with the initial one; scan outputs stack.
    return node.outputs.map((_, k) =>
      k < n ? merge(out[k + 1]!, carried[k] ?? out[k + 1]!, unknown(k)) : { dtype: out[k + 1]!.dtype, shape: [count, ...out[k + 1]!.shape] },
    );
  }
  return fail(node, 'has no shape rule in fviz (Scan bodies are not inferred)');
}

// ------------------------------------------------------------------ inlining

function scalar(t: TensorData): number | bigint {
  if (Array.isArray(t.data) || t.data.length !== 1) throw new FvizError('expected a single value');
  return t.data[0]!;
}

function truthy(t: TensorData): boolean {
  const v = scalar(t);
  return typeof v === 'bigint' ? v !== 0n : v !== 0;
}

/** A copy of `g` with every read of an enclosing value renamed through `rename` (its own names stay). */
function renameCaptured(g: Graph, rename: ReadonlyMap<string, string>): Graph {
  const own = ownNames(g);
  const map = (v: string) => (v && !own.has(v) ? (rename.get(v) ?? v) : v);
  return {
    ...g,
    nodes: g.nodes.map((n) => ({
      ...n,
      inputs: n.inputs.map(map),
      outputs: [...n.outputs],
      attrs: mapAttrs(n, rename),
    })),
    outputs: g.outputs.map((o) => ({ ...o, name: map(o.name) })),
    inputs: g.inputs.map((v) => ({ ...v, shape: [...v.shape] })),
    initializers: new Map(g.initializers),
    valueTypes: new Map(g.valueTypes),
  };
}

function mapAttrs(n: Node, rename: ReadonlyMap<string, string>): Node['attrs'] {
  const out: Node['attrs'] = {};
  for (const [k, a] of Object.entries(n.attrs)) out[k] = a.g ? { g: renameCaptured(a.g, rename) } : a;
  return out;
}

export interface Spliced {
  nodes: Node[];
  initializers: [string, TensorData][];
}

/**
 * The nodes of subgraph `g` for splicing into the enclosing graph: its inputs bound to `bindings` (enclosing
 * value names), every value it defines renamed fresh, its outputs written to `targets`.
 */
export function spliceBody(g: Graph, bindings: string[], targets: string[], ns: NameSpace, prefix: string): Spliced {
  const rename = new Map<string, string>();
  g.inputs.forEach((v, k) => rename.set(v.name, bindings[k]!));
  const initializers: [string, TensorData][] = [];
  for (const [k, t] of g.initializers) {
    const name = ns.value(k);
    rename.set(k, name);
    initializers.push([name, t]);
  }
  // A body output produced by a body node writes the target directly; others go through an Identity.
  const direct = new Map<string, string>();
  g.outputs.forEach((o, k) => {
    if (!direct.has(o.name) && g.nodes.some((n) => n.outputs.includes(o.name))) direct.set(o.name, targets[k]!);
  });
  for (const n of g.nodes) for (const o of n.outputs) if (o) rename.set(o, direct.get(o) ?? ns.value(o));
  const nodes: Node[] = g.nodes.map((n) => ({
    name: ns.node(prefix ? `${prefix}/${n.name}` : n.name),
    opType: n.opType,
    domain: n.domain,
    inputs: n.inputs.map((i) => (i ? (rename.get(i) ?? i) : i)),
    outputs: n.outputs.map((o) => (o ? rename.get(o)! : o)),
    attrs: mapAttrs(n, rename),
  }));
  g.outputs.forEach((o, k) => {
    const src = rename.get(o.name) ?? o.name;
    if (src !== targets[k])
      nodes.push({ name: ns.node(`${prefix || g.name}/output${k}`), opType: 'Identity', domain: '', inputs: [src], outputs: [targets[k]!], attrs: {} });
  });
  return { nodes, initializers };
}

/** The If node replaced by the branch its constant condition takes. */
export function inlineIf(node: Node, cond: TensorData, ns: NameSpace): Spliced {
  const branch = node.attrs[truthy(cond) ? 'then_branch' : 'else_branch']?.g;
  if (!branch) fail(node, 'needs then_branch and else_branch');
  if (branch.outputs.length !== node.outputs.length) fail(node, `its branch gives ${branch.outputs.length} outputs for ${node.outputs.length}`);
  const targets = node.outputs.map((o) => o || ns.value(`${node.name}_unused`));
  return spliceBody(branch, [], targets, ns, '');
}

/** Whether a Loop body's condition output is always true: the condition input passed on, or a true constant. */
function conditionStaysTrue(body: Graph): boolean {
  const condIn = body.inputs[1]?.name;
  let v = body.outputs[0]?.name;
  for (let hops = 0; v !== undefined && hops < 16; hops++) {
    if (v === condIn) return true;
    const init = body.initializers.get(v);
    if (init) return truthy(init);
    const p = body.nodes.find((n) => n.outputs.includes(v!));
    if (!p) return false;
    if (p.opType === 'Identity') v = p.inputs[0];
    else if (p.opType === 'Constant' && p.attrs['value']?.t) return truthy(p.attrs['value'].t);
    else return false;
  }
  return false;
}

/**
 * A Loop with a constant trip count and a condition that stays true, unrolled; or the reason it cannot be
 * (a string). `consts` holds the enclosing graph's constants.
 */
export function unrollLoop(node: Node, consts: ReadonlyMap<string, TensorData>, ns: NameSpace): Spliced | string {
  const body = node.attrs['body']?.g;
  if (!body) fail(node, 'needs a body');
  const [tripName, condName] = node.inputs;
  const trip = tripName ? consts.get(tripName) : undefined;
  if (!trip) return tripName ? 'its trip count depends on the input' : 'it has no trip count (it runs while a condition holds)';
  let count = Number(scalar(trip));
  if (condName) {
    const c = consts.get(condName);
    if (!c) return 'its start condition depends on the input';
    if (!truthy(c)) count = 0;
  }
  if (count > 0 && !conditionStaysTrue(body)) return 'its condition is recomputed on every iteration';
  const n = node.inputs.length - 2;
  const k = body.outputs.length - 1 - n;
  if (count * (body.nodes.length + k + 2) > UNROLL_MAX_NODES)
    return `it runs ${count} iterations of ${body.nodes.length} nodes, more than fviz unrolls (${UNROLL_MAX_NODES} nodes)`;
  if (count === 0 && k > 0) return 'it runs 0 iterations but stacks scan outputs';
  const nodes: Node[] = [];
  const initializers: [string, TensorData][] = [];
  const trueName = ns.value(`${node.name}_true`);
  initializers.push([trueName, tensor('bool', [], [1])]);
  let carried = node.inputs.slice(2);
  const scans: string[][] = Array.from({ length: k }, () => []);
  for (let it = 0; it < count; it++) {
    const iter = ns.value(`${node.name}_iter${it}`);
    initializers.push([iter, tensor('int64', [], [it])]);
    const targets = body.outputs.map((o) => ns.value(`${o.name}_iter${it}`));
    const s = spliceBody(body, [iter, trueName, ...carried], targets, ns, `${node.name}/iter${it}`);
    nodes.push(...s.nodes);
    initializers.push(...s.initializers);
    carried = targets.slice(1, 1 + n);
    targets.slice(1 + n).forEach((t, j) => scans[j]!.push(t));
  }
  const axes = ns.value(`${node.name}_axes0`);
  initializers.push([axes, tensor('int64', [1], [0])]);
  node.outputs.forEach((o, j) => {
    if (!o) return;
    if (j < n) {
      nodes.push({ name: ns.node(`${node.name}/final${j}`), opType: 'Identity', domain: '', inputs: [carried[j]!], outputs: [o], attrs: {} });
      return;
    }
    const parts = scans[j - n]!.map((v, it) => {
      const u = ns.value(`${v}_unsqueezed`);
      nodes.push({ name: ns.node(`${node.name}/stack${j}_${it}`), opType: 'Unsqueeze', domain: '', inputs: [v, axes], outputs: [u], attrs: {} });
      return u;
    });
    nodes.push({ name: ns.node(`${node.name}/stack${j}`), opType: 'Concat', domain: '', inputs: parts, outputs: [o], attrs: { axis: { i: 0 } } });
  });
  return { nodes, initializers };
}

// ------------------------------------------------------------------ what stays

/** The graph inputs whose values a value depends on (through nodes and captured reads; not through Shape). */
function inputsReaching(graph: Graph, value: string): string[] {
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const inputs = new Set(graph.inputs.map((v) => v.name));
  const found = new Set<string>();
  const seen = new Set<string>();
  const stack = [value];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    if (inputs.has(v)) found.add(v);
    const p = producer.get(v);
    if (!p || p.opType === 'Shape' || p.opType === 'Size') continue; // sizes are fixed once the input size is
    stack.push(...p.inputs.filter((i) => i));
    for (const a of Object.values(p.attrs)) if (a.g) stack.push(...capturedNames(a.g));
  }
  return [...found];
}

/** The one-line error for control flow that stays on the objective's path after folding. */
export function controlFlowError(node: Node, graph: Graph, opset: number): FvizError {
  const head = `node '${node.name}' (${node.opType}, opset ${opset})`;
  const fix = 'export the model with that decision fixed (trace it with torch.onnx.export rather than scripting it, or remove the data-dependent branch)';
  const dynamicInput = !graph.inputs.every((v) => isStaticShape(v.shape));
  const sizeFix = dynamicInput ? ' (or give the input a static size: --size N)' : '';
  let reason: string;
  if (node.opType === 'If') {
    const from = node.inputs[0] ? inputsReaching(graph, node.inputs[0]) : [];
    reason = from.length
      ? `its condition depends on the values of input ${from.map((v) => `'${v}'`).join(', ')}, so the branch taken changes with the input`
      : dynamicInput
        ? 'its condition depends on the input size, which is dynamic'
        : 'its condition is not a constant after folding';
  } else if (node.opType === 'Loop') {
    const why = unrollLoop(node, graph.initializers, new NameSpace(graph));
    const cond = node.inputs[0] || node.inputs[1];
    const from = cond ? inputsReaching(graph, cond) : [];
    if (typeof why === 'string' && !why.includes('depends on the input'))
      return new FvizError(`${head}: fviz cannot unroll it: ${why}; export the model with the loop unrolled (a fixed, small number of iterations)`, {
        subject: node.name,
      });
    reason = from.length
      ? `its trip count or condition depends on the values of input ${from.map((v) => `'${v}'`).join(', ')}, so the path through it changes with the input`
      : 'its trip count or condition is not a constant after folding';
  } else reason = `${node.opType} bodies are not differentiated by fviz`;
  return new FvizError(`${head}: ${reason}; fviz differentiates control flow only when it is fixed by the input size: ${fix}${sizeFix}`, {
    subject: node.name,
  });
}

/** The nodes an If or Loop becomes once its condition (and trip count) are constants; undefined while they are not. */
export function expandControlFlow(node: Node, consts: ReadonlyMap<string, TensorData>, ns: NameSpace): Spliced | undefined {
  if (node.opType === 'If') {
    const cond = node.inputs[0] ? consts.get(node.inputs[0]) : undefined;
    return cond ? inlineIf(node, cond, ns) : undefined;
  }
  if (node.opType === 'Loop') {
    const r = unrollLoop(node, consts, ns);
    return typeof r === 'string' ? undefined : r;
  }
  return undefined;
}
