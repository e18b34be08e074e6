// The gradient compiler's coverage: ops with a rule, and ops whose outputs carry no gradient; the graph side
// (which nodes are on the data path, how they are reported) is src/onnx/coverage.ts.
import type { Graph, OpsetImport } from '../onnx/ir.ts';
import { NON_DIFFERENTIABLE, uncoveredOps as uncoveredIn } from '../onnx/coverage.ts';
import { supportedOps } from './rules/index.ts';

export { dataPathNodes, formatUncovered, NON_DIFFERENTIABLE, opKey, type UncoveredOp } from '../onnx/coverage.ts';

/** Ops (domain-qualified outside ai.onnx) the compiler covers: a gradient rule, or no gradient to carry. */
export function coveredOps(): Set<string> {
  return new Set([...supportedOps(), ...NON_DIFFERENTIABLE]);
}

/** The ops on the data path of `graph` the compiler has no rule for, with their nodes and the file's opsets. */
export function uncoveredOps(graph: Graph, opsets: OpsetImport[], covered: ReadonlySet<string> = coveredOps()) {
  return uncoveredIn(graph, opsets, covered);
}
