// Concat(Relu(a), Relu(b), ...) as Relu(Concat(a, b, ...)) (the same values: Relu is elementwise), when
// each Relu output feeds only that Concat. Inception modules end this way. The backward then masks the
// concatenated gradient once, reading the concatenated output that onnxruntime already converts out of
// its blocked layout for the next max pool, instead of converting and masking each branch separately.
import type { Graph, Node } from '../../onnx/ir.ts';
import { consumers } from '../../onnx/ir.ts';

/** Rewrites in place; returns how many Concat nodes now take the pre-activation values. */
export function reluAfterConcat(graph: Graph, keep: ReadonlySet<string> = new Set()): number {
  const readers = consumers(graph);
  const producer = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producer.set(o, n);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const drop = new Set<Node>();
  const after = new Map<Node, Node>();
  for (const cat of graph.nodes) {
    if (cat.opType !== 'Concat' || cat.domain !== '' || cat.inputs.length < 2) continue;
    const relus = cat.inputs.map((i) => producer.get(i));
    const ok = relus.every(
      (r, k) =>
        r && r.opType === 'Relu' && r.domain === '' && !drop.has(r) && !outputs.has(cat.inputs[k]!) && !keep.has(cat.inputs[k]!) &&
        (readers.get(cat.inputs[k]!) ?? []).every((c) => c === cat) && cat.inputs.indexOf(cat.inputs[k]!) === k,
    );
    if (!ok) continue;
    const y = cat.outputs[0]!;
    const pre = `${y}__pre_relu`;
    for (const r of relus) drop.add(r!);
    cat.inputs = relus.map((r) => r!.inputs[0]!);
    cat.outputs = [pre];
    graph.valueTypes.set(pre, graph.valueTypes.get(y)!);
    after.set(cat, { name: `${cat.name}/relu`, opType: 'Relu', domain: '', inputs: [pre], outputs: [y], attrs: {} });
  }
  graph.nodes = graph.nodes.filter((n) => !drop.has(n)).flatMap((n) => (after.has(n) ? [n, after.get(n)!] : [n]));
  for (const r of drop) graph.valueTypes.delete(r.outputs[0]!);
  return after.size;
}
