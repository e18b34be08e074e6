// Which nodes of a prepared model the gradient compiler cannot take: nodes on the data path from the graph
// inputs (reading a floating-point value that depends on them) whose op has no gradient rule and is not one
// whose outputs carry no gradient. Integer shape arithmetic (Mod of a dimension, say) needs no rule. Reported
// by op, with the nodes and the opset the file imports for the op's domain, by `fviz inspect` and `fviz doctor`.
// The covered ops come from the caller (src/autodiff/coverage.ts: the gradient compiler's rules).
import type { Graph, Node, OpsetImport } from './ir.ts';
import { isFloat } from './tensor.ts';

/** Ops whose outputs carry no gradient: they may sit anywhere in a graph. */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'ArgMax', 'ArgMin', 'Equal', 'Greater', 'GreaterOrEqual', 'Less',
  'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf', 'Range', 'NonZero', 'EyeLike', 'OneHot',
]);

export function opKey(domain: string, opType: string): string {
  return domain && domain !== 'ai.onnx' ? `${domain}.${opType}` : opType;
}

export interface UncoveredOp {
  /** Domain-qualified op, as `fviz inspect` lists ops. */
  op: string;
  /** The nodes, in graph order. */
  nodes: string[];
  /** 'ai.onnx' or the custom domain. */
  domain: string;
  /** The opset the file imports for that domain (undefined when it imports none). */
  opset: number | undefined;
}

/**
 * Nodes that read a value carrying the inputs' gradient: a floating-point value that depends on a graph
 * input (an output whose type is unknown counts, so that nothing after an untyped node is missed).
 */
export function dataPathNodes(graph: Graph): Set<Node> {
  const active = new Set(graph.inputs.filter((v) => isFloat(v.dtype)).map((v) => v.name));
  const on = new Set<Node>();
  for (const n of graph.nodes) {
    if (!n.inputs.some((i) => i && active.has(i))) continue;
    on.add(n);
    for (const o of n.outputs) {
      const t = graph.valueTypes.get(o);
      if (o && (!t || isFloat(t.dtype))) active.add(o);
    }
  }
  return on;
}

/**
 * The uncovered ops on the data path of `graph` (in topological order), most nodes first: not in `covered`
 * and not without a gradient (NON_DIFFERENTIABLE). `opsets` are the file's own imports.
 */
export function uncoveredOps(graph: Graph, opsets: OpsetImport[], covered: ReadonlySet<string>): UncoveredOp[] {
  const byOp = new Map<string, UncoveredOp>();
  const onPath = dataPathNodes(graph);
  for (const n of graph.nodes) {
    const op = opKey(n.domain, n.opType);
    if (covered.has(op) || NON_DIFFERENTIABLE.has(op) || !onPath.has(n)) continue;
    let u = byOp.get(op);
    if (!u) {
      const domain = n.domain && n.domain !== 'ai.onnx' ? n.domain : 'ai.onnx';
      const opset = opsets.find((o) => (o.domain || 'ai.onnx') === domain)?.version;
      u = { op, nodes: [], domain, opset };
      byOp.set(op, u);
    }
    u.nodes.push(n.name);
  }
  return [...byOp.values()].sort((a, b) => b.nodes.length - a.nodes.length || (a.op < b.op ? -1 : 1));
}

const SHOWN_NODES = 5;

/** `Foo (2 nodes: 'n1', 'n2'; ai.onnx opset 18)`. */
export function formatUncovered(u: UncoveredOp): string {
  const names = u.nodes.slice(0, SHOWN_NODES).map((n) => `'${n}'`);
  if (u.nodes.length > SHOWN_NODES) names.push('...');
  const count = `${u.nodes.length} node${u.nodes.length === 1 ? '' : 's'}`;
  const opset = u.opset === undefined ? `${u.domain}, no opset imported` : `${u.domain} opset ${u.opset}`;
  return `${u.op} (${count}: ${names.join(', ')}; ${opset})`;
}
