// A gradient contribution scattered into zeros and then summed with the other contributions,
//   Sum(a, b, Reshape(ScatterElements(Expand(0), I, U, add)))
// as the same scatter-add into the sum of the others,
//   Reshape(ScatterElements(Reshape(Sum(a, b)), I, U, add)).
// The max-pool backward produces the first form whenever the pool's input has other readers (inception
// modules): the second saves onnxruntime the zero tensor it copies and one input of the Sum (or the Sum).
// Runs on the finished gradient graph; the result differs only in the order of float additions.
import type { Graph, Node } from '../../onnx/ir.ts';
import { consumers, getInt, getString, sizeOf } from '../../onnx/ir.ts';
import { GraphBuilder } from '../../onnx/builder.ts';
import { tensor, toNumbers } from '../../onnx/tensor.ts';

function isZeroScalar(g: Graph, name: string): boolean {
  const t = g.initializers.get(name);
  return !!t && t.data.length === 1 && toNumbers(t)[0] === 0;
}

/** Rewrites in place; returns how many scatters now add into the other contributions. */
export function scatterIntoSum(graph: Graph): number {
  const readers = consumers(graph);
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const only = (name: string): Node | undefined => {
    const r = readers.get(name) ?? [];
    return r.length === 1 && !outputs.has(name) ? r[0] : undefined;
  };
  const b = new GraphBuilder(graph);
  // Sum node -> the nodes that replace it, in order; scatter and reshape nodes that move there.
  const replace = new Map<Node, Node[]>();
  const moved = new Set<Node>();
  for (const scatter of graph.nodes) {
    if (scatter.opType !== 'ScatterElements' || getString(scatter, 'reduction', 'none') !== 'add' || getInt(scatter, 'axis', 0) !== 0) continue;
    const data = scatter.inputs[0]!;
    const zeros = producer.get(data);
    if (!zeros || zeros.opType !== 'Expand' || !isZeroScalar(graph, zeros.inputs[0]!) || only(data) !== scatter) continue;
    const reshape = only(scatter.outputs[0]!);
    if (!reshape || reshape.opType !== 'Reshape') continue;
    const sum = only(reshape.outputs[0]!);
    if (!sum || sum.opType !== 'Sum' || replace.has(sum) || sum.inputs.length < 2) continue;
    const dataType = graph.valueTypes.get(data);
    const sumType = graph.valueTypes.get(sum.outputs[0]!);
    if (!dataType || !sumType || dataType.shape.length !== 1) continue;
    const rest = sum.inputs.filter((i) => i !== reshape.outputs[0]!);
    const nodes: Node[] = [];
    let acc = rest[0]!;
    if (rest.length > 1) {
      acc = b.fresh(`${sum.outputs[0]!}_others`);
      graph.valueTypes.set(acc, sumType);
      nodes.push({ ...sum, name: b.fresh(`${sum.name}_others`), inputs: rest, outputs: [acc] });
    }
    const flat = b.fresh(`${acc}_flat`);
    graph.valueTypes.set(flat, dataType);
    const shape = b.constant(tensor('int64', [1], [sizeOf(dataType.shape as number[])]), 'flat_shape');
    nodes.push({ name: b.fresh(`${flat}_node`), opType: 'Reshape', domain: '', inputs: [acc, shape], outputs: [flat], attrs: {} });
    nodes.push({ ...scatter, inputs: [flat, scatter.inputs[1]!, scatter.inputs[2]!] });
    nodes.push({ ...reshape, outputs: [sum.outputs[0]!] });
    graph.valueTypes.delete(reshape.outputs[0]!);
    replace.set(sum, nodes);
    moved.add(scatter).add(reshape).add(zeros);
  }
  graph.nodes = graph.nodes.filter((n) => !moved.has(n)).flatMap((n) => replace.get(n) ?? [n]);
  return replace.size;
}
