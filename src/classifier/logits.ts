// Where a classifier's logits are: a graph query the model installer, the objective builder and the
// probes share.
import type { Graph } from '../onnx/ir.ts';

/** The tensor feeding the last Softmax (the classifier's logits). */
export function findPreSoftmax(g: Graph): string | undefined {
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (n.opType !== 'Softmax' && n.opType !== 'LogSoftmax') continue;
    // Class scores are N x K (or N x K x 1 x 1); a transformer's attention softmax (N x heads x T x T) is not.
    const shape = g.valueTypes.get(n.inputs[0]!)?.shape;
    if (!shape || shape.length === 2 || (shape.length > 2 && shape.slice(2).every((d) => d === 1))) return n.inputs[0];
  }
  return undefined;
}

/** Without a Softmax, a model whose only output is N x K is taken to output logits (as PyTorch exports do). */
export function singleLogitsOutput(g: Graph): string | undefined {
  if (g.outputs.length !== 1) return undefined;
  const name = g.outputs[0]!.name;
  return g.valueTypes.get(name)?.shape.length === 2 ? name : undefined;
}
