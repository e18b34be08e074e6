// Topological order: stable, and one-line errors that name the value.
import { describe, expect, it } from 'vitest';
import type { Graph, Node } from '../src/onnx/ir.ts';
import { emptyGraph } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { topoSort } from '../src/onnx/topo.ts';
import { FvizError } from '../src/errors.ts';

const n = (name: string, opType: string, inputs: string[], outputs: string[]): Node => ({ name, opType, domain: '', inputs, outputs, attrs: {} });

function graph(nodes: Node[]): Graph {
  const g = emptyGraph();
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1] });
  g.initializers.set('w', tensor('float32', [1], [1]));
  g.nodes = nodes;
  return g;
}

describe('topoSort', () => {
  it('keeps file order when it is valid', () => {
    const nodes = [n('a', 'Relu', ['x'], ['a']), n('b', 'Exp', ['x'], ['b']), n('c', 'Add', ['a', 'b'], ['c']), n('d', 'Mul', ['c', 'w'], ['d'])];
    expect(topoSort(graph(nodes)).map((k) => k.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('moves a node only as far as its inputs require, otherwise keeping file order', () => {
    const nodes = [n('c', 'Add', ['a', 'b'], ['c']), n('z', 'Neg', ['x'], ['z']), n('b', 'Exp', ['x'], ['b']), n('a', 'Relu', ['x'], ['a']), n('y', 'Neg', ['z'], ['y'])];
    expect(topoSort(graph(nodes)).map((k) => k.name)).toEqual(['z', 'b', 'a', 'c', 'y']);
  });

  it('names the node and the value nothing provides', () => {
    const g = graph([n('conv1', 'Conv', ['x', 'foo'], ['y'])]);
    expect(() => topoSort(g)).toThrow(FvizError);
    expect(() => topoSort(g)).toThrow("node 'conv1' (Conv) reads 'foo', which no node, input or initializer provides");
  });

  it('names a value on a cycle', () => {
    const g = graph([n('pre', 'Relu', ['x'], ['p']), n('a', 'Add', ['p', 'c'], ['a']), n('b', 'Relu', ['a'], ['b']), n('c', 'Relu', ['b'], ['c']), n('after', 'Neg', ['c'], ['z'])]);
    expect(() => topoSort(g)).toThrow(/the graph has a cycle: node '(a|b|c)' \((Add|Relu)\) reads '(a|b|c)', which depends on its own output/);
  });

  it('refuses a value produced twice', () => {
    const g = graph([n('a', 'Relu', ['x'], ['y']), n('b', 'Neg', ['x'], ['y'])]);
    expect(() => topoSort(g)).toThrow("value 'y' is produced twice: by node 'a' (Relu) and by node 'b' (Neg)");
  });

  it('orders a node after the producers of values its subgraph captures', () => {
    const body = emptyGraph('then');
    body.nodes.push(n('inner', 'Identity', ['v'], ['out']));
    body.outputs.push({ name: 'out', dtype: 'float32', shape: [1] });
    const iff: Node = { name: 'if', opType: 'If', domain: '', inputs: ['cond'], outputs: ['r'], attrs: { then_branch: { g: body }, else_branch: { g: body } } };
    const g = graph([iff, n('v', 'Relu', ['x'], ['v']), n('cond', 'Cast', ['x'], ['cond'])]);
    expect(topoSort(g).map((k) => k.name)).toEqual(['v', 'cond', 'if']);
  });
});
