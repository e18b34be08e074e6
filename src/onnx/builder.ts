// Emitting nodes into a graph with unique, readable names.
import type { AttrValue, Graph, Node, TensorData, ValueType } from './ir.ts';

export class GraphBuilder {
  readonly graph: Graph;
  private used = new Set<string>();
  private counter = 0;
  private constCache = new Map<string, string>();

  constructor(graph: Graph) {
    this.graph = graph;
    for (const n of graph.nodes) {
      this.used.add(n.name);
      for (const o of n.outputs) this.used.add(o);
    }
    for (const v of graph.inputs) this.used.add(v.name);
    for (const k of graph.initializers.keys()) this.used.add(k);
  }

  /** A fresh name starting with `base`. */
  fresh(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}__${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** Append a node; returns its output names. `outputs` may be a count or explicit names. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1, base?: string): string[] {
    const stem = base ?? opType;
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, k) => this.fresh(`${stem}_out${k}`)) : outputs;
    for (const o of outs) this.used.add(o);
    const n: Node = { name: this.fresh(`${stem}_node`), opType, domain: '', inputs, outputs: outs, attrs };
    this.graph.nodes.push(n);
    return outs;
  }

  /** Single-output shorthand. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base?: string): string {
    return this.node(opType, inputs, attrs, 1, base)[0]!;
  }

  /** An initializer holding `t`; identical small constants are shared. */
  constant(t: TensorData, base = 'const'): string {
    const small = t.data.length <= 64;
    const key = small ? `${t.dtype}|${t.dims}|${Array.from(t.data as ArrayLike<unknown>).join(',')}` : '';
    if (small && this.constCache.has(key)) return this.constCache.get(key)!;
    const name = this.fresh(base);
    this.graph.initializers.set(name, t);
    this.graph.valueTypes.set(name, { dtype: t.dtype, shape: [...t.dims] });
    if (small) this.constCache.set(key, name);
    return name;
  }

  setType(name: string, vt: ValueType): void {
    this.graph.valueTypes.set(name, vt);
  }
}
