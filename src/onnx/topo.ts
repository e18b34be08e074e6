// Topological order of a graph's nodes: stable (file order wherever it is already valid), with one-line
// errors for cycles, values nothing produces, and values produced twice.
import { FvizError } from '../errors.ts';
import type { Graph, Node } from './ir.ts';

/** Values a node reads: its inputs plus outer-scope names its subgraphs (If/Loop/Scan bodies) capture. */
export function nodeReads(node: Node): string[] {
  const reads = node.inputs.filter((i) => i !== '');
  for (const a of Object.values(node.attrs)) if (a.g) reads.push(...capturedNames(a.g));
  return reads;
}

/** Names a subgraph uses that it neither defines nor receives as inputs (values of the enclosing scopes). */
export function capturedNames(g: Graph): string[] {
  const defined = new Set<string>([...g.inputs.map((v) => v.name), ...g.initializers.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) defined.add(o);
  const captured = new Set<string>();
  for (const n of g.nodes) for (const r of nodeReads(n)) if (!defined.has(r)) captured.add(r);
  for (const o of g.outputs) if (!defined.has(o.name)) captured.add(o.name);
  return [...captured];
}

function describe(n: Node): string {
  return `node '${n.name}' (${n.opType})`;
}

/** A min-heap of node indices, so the ready node earliest in file order goes first. */
class IndexHeap {
  private a: number[] = [];
  get size(): number {
    return this.a.length;
  }
  push(v: number): void {
    const a = this.a;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]! <= v) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const c = r < a.length && a[r]! < a[l]! ? r : l;
        if (a[c]! >= last) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * The graph's nodes in topological order. Keeps file order where it is valid. Throws FvizError naming the
 * value on a cycle, on an input that no node, graph input or initializer provides, or on a value produced twice.
 * `outer` names the values of the enclosing scopes a subgraph (If/Loop body) may read.
 */
export function topoSort(graph: Graph, outer: Iterable<string> = []): Node[] {
  const nodes = graph.nodes;
  const available = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  const fromOuter = new Set<string>(outer);
  const producerIndex = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (!o) continue;
      const prev = producerIndex.get(o);
      if (prev !== undefined)
        throw new FvizError(`value '${o}' is produced twice: by ${describe(nodes[prev]!)} and by ${describe(n)}`);
      if (available.has(o))
        throw new FvizError(`${describe(n)} writes '${o}', which is already a graph input or initializer`);
      producerIndex.set(o, i);
    }
  });
  const waiting = new Array<number>(nodes.length).fill(0);
  const dependents: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    const deps = new Set<number>();
    for (const r of nodeReads(n)) {
      if (available.has(r)) continue;
      const p = producerIndex.get(r);
      if (p === undefined && fromOuter.has(r)) continue;
      if (p === undefined)
        throw new FvizError(`${describe(n)} reads '${r}', which no node, input or initializer provides`, { subject: r });
      deps.add(p);
    }
    waiting[i] = deps.size;
    for (const p of deps) dependents[p]!.push(i);
  });
  const ready = new IndexHeap();
  waiting.forEach((w, i) => {
    if (w === 0) ready.push(i);
  });
  const order: Node[] = [];
  while (ready.size) {
    const i = ready.pop();
    order.push(nodes[i]!);
    for (const d of dependents[i]!) if (--waiting[d]! === 0) ready.push(d);
  }
  if (order.length < nodes.length) {
    // Follow unfinished inputs backwards from a stuck node until a node repeats: that loop is the cycle.
    const done = new Set(order);
    const pendingInput = (n: Node) =>
      nodeReads(n).find((r) => {
        const p = producerIndex.get(r);
        return p !== undefined && !done.has(nodes[p]!);
      })!;
    const path: Node[] = [];
    const seen = new Map<Node, number>();
    let cur = nodes.find((_, i) => waiting[i]! > 0)!;
    while (!seen.has(cur)) {
      seen.set(cur, path.length);
      path.push(cur);
      cur = nodes[producerIndex.get(pendingInput(cur))!]!;
    }
    const loop = path.slice(seen.get(cur)!);
    const value = pendingInput(loop[0]!);
    const via = loop.map((n) => `'${n.name}'`).join(' <- ');
    throw new FvizError(
      `the graph has a cycle: ${describe(loop[0]!)} reads '${value}', which depends on its own output (nodes ${via})`,
      { subject: value },
    );
  }
  return order;
}

/** Reorder `graph.nodes` in place; returns the graph. */
export function sortGraph(graph: Graph, outer: Iterable<string> = []): Graph {
  graph.nodes = topoSort(graph, outer);
  return graph;
}

/** Every name a graph defines: inputs, initializers and node outputs (what its subgraphs may read). */
export function definedNames(graph: Graph): string[] {
  const out = [...graph.inputs.map((v) => v.name), ...graph.initializers.keys()];
  for (const n of graph.nodes) for (const o of n.outputs) if (o) out.push(o);
  return out;
}
