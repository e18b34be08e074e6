// Model-local functions (ModelProto.functions): torch.onnx.dynamo_export writes every module as a function
// called from the main graph, in a domain of its own. Inlined when the file is read, so every later pass
// (and the gradient compiler) sees plain ONNX ops, as onnxruntime does when it runs the file.
import { FvizError } from '../errors.ts';
import { GraphBuilder } from './builder.ts';
import type { AttrValue, Graph, Node } from './ir.ts';

/** A node of a function body; `refs` maps an attribute to the caller's attribute it takes its value from. */
export interface FunctionNode extends Node {
  refs: Record<string, string>;
}

export interface FunctionDef {
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Attribute names the function takes. */
  attributes: string[];
  nodes: FunctionNode[];
}

/** Calls deeper than this are taken for recursion (which ONNX forbids). */
const MAX_DEPTH = 64;

function key(domain: string, name: string): string {
  return `${domain}::${name}`;
}

/**
 * Replaces, in place, every call of a function of `functions` in `graph` by the function's body: formal
 * inputs and outputs become the call's values, other values get fresh names under the call node's name,
 * attributes that refer to the caller's take its values (absent when the caller gives none). Returns how
 * many calls were inlined.
 */
export function inlineFunctions(graph: Graph, functions: FunctionDef[], source = 'model'): number {
  if (functions.length === 0) return 0;
  const byKey = new Map(functions.map((f) => [key(f.domain, f.name), f]));
  const b = new GraphBuilder(graph);
  let count = 0;
  const expand = (node: Node, depth: number): Node[] => {
    const f = byKey.get(key(node.domain, node.opType));
    if (!f) return [node];
    if (depth > MAX_DEPTH) throw new FvizError(`${source}: function ${f.domain}.${f.name} calls itself (through node '${node.name}'); ONNX functions cannot recurse`);
    count++;
    const rename = new Map<string, string>();
    f.inputs.forEach((formal, k) => rename.set(formal, node.inputs[k] ?? ''));
    f.outputs.forEach((formal, k) => {
      if (node.outputs[k]) rename.set(formal, node.outputs[k]!);
    });
    const local = (name: string): string => {
      if (!name) return '';
      let r = rename.get(name);
      if (r === undefined) {
        r = b.fresh(`${node.name}/${name}`);
        rename.set(name, r);
      }
      return r;
    };
    const out: Node[] = [];
    for (const inner of f.nodes) {
      const attrs: Record<string, AttrValue> = {};
      for (const [k, v] of Object.entries(inner.attrs)) {
        if (v.g) throw new FvizError(`${source}: function ${f.domain}.${f.name} has a subgraph in node '${inner.name}'; fviz inlines functions without subgraphs`);
        attrs[k] = v;
      }
      for (const [k, ref] of Object.entries(inner.refs)) {
        const given = node.attrs[ref];
        if (given) attrs[k] = given;
      }
      const copy: Node = {
        name: b.fresh(`${node.name}/${inner.name || inner.opType}`),
        opType: inner.opType,
        domain: inner.domain,
        inputs: inner.inputs.map(local),
        outputs: inner.outputs.map(local),
        attrs,
      };
      out.push(...expand(copy, depth + 1));
    }
    return out;
  };
  graph.nodes = graph.nodes.flatMap((n) => expand(n, 0));
  return count;
}
