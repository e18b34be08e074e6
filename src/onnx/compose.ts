// Joining models into one graph: the first model's output feeds the second model's input, so one
// compiled program runs (and differentiates) both. The first model's names get a prefix.
import { FvizError } from '../errors.ts';
import type { Graph, Model } from './ir.ts';
import { cloneModel } from './ir.ts';

function renameGraph(g: Graph, rename: (n: string) => string): Graph {
  const r = (n: string) => (n ? rename(n) : n);
  return {
    name: g.name,
    nodes: g.nodes.map((n) => ({ ...n, name: rename(n.name), inputs: n.inputs.map(r), outputs: n.outputs.map(r), attrs: { ...n.attrs } })),
    inputs: g.inputs.map((v) => ({ ...v, name: r(v.name), shape: [...v.shape] })),
    outputs: g.outputs.map((v) => ({ ...v, name: r(v.name), shape: [...v.shape] })),
    initializers: new Map([...g.initializers].map(([k, v]) => [r(k), v])),
    valueTypes: new Map([...g.valueTypes].map(([k, v]) => [r(k), { dtype: v.dtype, shape: [...v.shape] }])),
  };
}

/** Prefix every value and node name of a model except the ones kept. */
export function prefixModel(model: Model, prefix: string, keep: Set<string> = new Set()): Model {
  const m = cloneModel(model);
  m.graph = renameGraph(m.graph, (n) => (keep.has(n) ? n : `${prefix}${n}`));
  return m;
}

export interface ComposeOptions {
  /** Output of `first` (after prefixing: give the original name) that feeds `second`'s input. */
  from: string;
  /** Input of `second` that it replaces. */
  to: string;
  /** Prefix for `first`'s names (default 'g/'). */
  prefix?: string;
}

/**
 * One model computing second(first(...)): `first`'s inputs become the inputs; `second`'s outputs the outputs.
 * Both must be prepared (static shapes) and agree on the connecting tensor's shape.
 */
export function composeModels(first: Model, second: Model, opts: ComposeOptions): Model {
  const prefix = opts.prefix ?? 'g/';
  const a = prefixModel(first, prefix, new Set(first.graph.inputs.map((i) => i.name)));
  const b = cloneModel(second);
  const from = `${prefix}${opts.from}`;
  const fromType = a.graph.valueTypes.get(from);
  const toInput = b.graph.inputs.find((i) => i.name === opts.to);
  if (!fromType) throw new FvizError(`compose: the first model has no value '${opts.from}'`);
  if (!toInput) throw new FvizError(`compose: the second model has no input '${opts.to}'`);
  if (fromType.shape.length !== toInput.shape.length || fromType.shape.some((d, k) => d !== toInput.shape[k]))
    throw new FvizError(`compose: '${opts.from}' has shape [${fromType.shape}] but '${opts.to}' needs [${toInput.shape}]`);
  for (const k of b.graph.valueTypes.keys())
    if (a.graph.valueTypes.has(k) && k !== opts.to) throw new FvizError(`compose: name clash on '${k}'`);
  const g: Graph = {
    name: `${a.graph.name}+${b.graph.name}`,
    nodes: [
      ...a.graph.nodes,
      { name: `${prefix}connect`, opType: 'Identity', domain: '', inputs: [from], outputs: [opts.to], attrs: {} },
      ...b.graph.nodes,
    ],
    inputs: [...a.graph.inputs, ...b.graph.inputs.filter((i) => i.name !== opts.to)],
    outputs: b.graph.outputs,
    initializers: new Map([...a.graph.initializers, ...b.graph.initializers]),
    valueTypes: new Map([...a.graph.valueTypes, ...b.graph.valueTypes]),
  };
  const m = cloneModel(b);
  m.graph = g;
  m.metadata = { ...second.metadata };
  return m;
}
