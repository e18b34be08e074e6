// The backward walk: append to a graph the nodes computing gradients of seeded outputs
// with respect to chosen values, visiting forward nodes in reverse topological order.
import { FvizError } from '../errors.ts';
import type { Graph, Node } from '../onnx/ir.ts';
import { isFloat } from '../onnx/tensor.ts';
import { GradContext } from './context.ts';
import { rules, supportedOps } from './rules/index.ts';
import { overriddenRule } from './overrides.ts';
import { nodeReads } from '../onnx/topo.ts';
import { controlFlowError, isControlFlow } from '../onnx/control-flow.ts';

export interface BackwardRequest {
  /** Forward output -> name of a value (constant or graph input) holding its upstream gradient. */
  seeds: Map<string, string>;
  /** Values to differentiate with respect to: graph inputs or initializers. */
  wrt: string[];
  /** Opset of the source model, for error messages. */
  opset?: number;
}

/** Values that depend on `wrt` through floating-point data flow. */
export function activeValues(graph: Graph, wrt: string[]): Set<string> {
  const active = new Set(wrt);
  for (const n of graph.nodes) {
    if (!nodeReads(n).some((i) => active.has(i))) continue;
    for (const o of n.outputs) {
      const t = graph.valueTypes.get(o);
      if (o && t && isFloat(t.dtype)) active.add(o);
    }
  }
  return active;
}

/** Values that the seeded outputs depend on. */
function reachingValues(graph: Graph, outputs: Iterable<string>): Set<string> {
  const reach = new Set(outputs);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k]!;
    if (!n.outputs.some((o) => o && reach.has(o))) continue;
    for (const i of nodeReads(n)) reach.add(i);
  }
  return reach;
}

export function missingRuleError(node: Node, opset: number): FvizError {
  const dom = node.domain ? `${node.domain}.` : '';
  return new FvizError(
    `no gradient rule for op ${dom}${node.opType} (node '${node.name}', opset ${opset}); supported ops: ${supportedOps().join(', ')}`,
    { subject: node.opType },
  );
}

/**
 * Appends the backward nodes to `graph` (which must have static shapes for every value on the path)
 * and returns, for each `wrt` value, the name of its gradient.
 */
export function appendBackward(graph: Graph, req: BackwardRequest): Map<string, string> {
  const forward = [...graph.nodes];
  const active = activeValues(graph, req.wrt);
  const reach = reachingValues(graph, req.seeds.keys());
  const ctx = new GradContext(graph, active);
  for (const [out, g] of req.seeds) {
    if (!active.has(out)) continue;
    ctx.addGrad(out, g);
  }
  const opset = req.opset ?? 17;
  // Check coverage first, so a missing rule fails before any work.
  const onPath = forward.filter(
    (n) => n.outputs.some((o) => o && reach.has(o) && active.has(o)) && nodeReads(n).some((i) => active.has(i)),
  );
  const ruleOf = (n: Node) => overriddenRule(n) ?? (n.domain === '' ? rules[n.opType] : undefined);
  for (const n of onPath) {
    if (ruleOf(n)) continue;
    throw isControlFlow(n) ? controlFlowError(n, graph, opset) : missingRuleError(n, opset);
  }
  for (let k = onPath.length - 1; k >= 0; k--) {
    const n = onPath[k]!;
    if (!n.outputs.some((o) => o && ctx.grad(o) !== undefined)) continue;
    ruleOf(n)!(n, ctx);
  }
  const result = new Map<string, string>();
  for (const w of req.wrt) {
    if (!graph.valueTypes.has(w)) throw new FvizError(`cannot differentiate with respect to '${w}': no such value`);
    result.set(w, ctx.grad(w) ?? ctx.zerosLike(w));
  }
  return result;
}
