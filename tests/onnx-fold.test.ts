// Constant folding and prepareModel: PyTorch's shape arithmetic folds away once the batch is fixed, the
// folded values equal what onnxruntime computes, and nothing else changes.
import { describe, expect, it } from 'vitest';
import type { AttrValue, Node, TensorData } from '../src/onnx/ir.ts';
import { emptyGraph, emptyModel, isStaticShape } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { evaluateNode, foldConstants } from '../src/onnx/fold.ts';
import { inferNode } from '../src/onnx/shapes.ts';
import { fullyStatic, loadModel, prepareModel, preparedInfo } from '../src/onnx/prepare.ts';
import { saveModel } from '../src/onnx/proto.ts';
import { maxAbsDiff, pytorchCnn, randomInput, runModel, singleOpModel, type OpInput } from './helpers/models.ts';
import { Rng } from '../src/util/rng.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SHAPE_OPS = ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Constant'];

describe('a PyTorch export', () => {
  it.each([11, 13, 17])('opset %i: the shape subgraph folds away and every value is static', async (opset) => {
    const original = pytorchCnn({ opset });
    for (const batch of [2, 5]) {
      const m = prepareModel(original, { batch });
      const ops = m.graph.nodes.map((n) => n.opType);
      for (const op of SHAPE_OPS) expect(ops).not.toContain(op);
      expect(ops).toEqual(['Conv', 'BatchNormalization', 'Relu', 'MaxPool', 'Conv', 'Relu', 'Reshape', 'Gemm', 'Mul']);
      expect(fullyStatic(m)).toBe(true);
      expect(m.graph.inputs[0]!.shape).toEqual([batch, 3, 16, 16]);
      expect(m.graph.outputs[0]!.shape).toEqual([batch, 10]);
      const target = m.graph.initializers.get('/Concat')!;
      expect(Array.from(target.data as BigInt64Array, Number)).toEqual([batch, -1]);
      expect(preparedInfo(m)!.folded).toBe(7);
      const feeds = { input: randomInput(new Rng(batch), [batch, 3, 16, 16]) };
      const want = await runModel(original, feeds);
      const got = await runModel(m, feeds);
      expect(got['logits']!.dims).toEqual([batch, 10]);
      expect(maxAbsDiff(got['logits']!, want['logits']!)).toBe(0);
    }
  });

  it('keeps the batch symbolic, and the shape subgraph, when no batch is given', () => {
    const m = prepareModel(pytorchCnn());
    expect(m.graph.nodes.map((n) => n.opType)).toContain('Shape');
    expect(m.graph.valueTypes.get('/Reshape')!.shape).toEqual(['batch_size', 256]);
    expect(m.graph.outputs[0]!.shape).toEqual(['batch_size', 10]);
    expect(fullyStatic(m)).toBe(false);
  });

  it('loads from a path with external data and fixes named dims', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fviz-fold-'));
    try {
      const file = join(dir, 'cnn.onnx');
      saveModel(pytorchCnn(), file, { externalDataThreshold: 256 });
      const m = loadModel(file, { dims: { batch_size: 3 } });
      expect(m.graph.outputs[0]!.shape).toEqual([3, 10]);
      expect(fullyStatic(m)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not modify the model it is given', () => {
    const original = pytorchCnn();
    const snapshot = () =>
      JSON.stringify({ nodes: original.graph.nodes, inputs: original.graph.inputs, outputs: original.graph.outputs, types: [...original.graph.valueTypes] }, (_k, v) =>
        typeof v === 'bigint' ? String(v) : v,
      );
    const before = snapshot();
    const inits = original.graph.initializers.size;
    prepareModel(original, { batch: 2 });
    expect(snapshot()).toBe(before);
    expect(original.graph.initializers.size).toBe(inits);
  });
});

const I64 = (shape: number[], values: number[]): OpInput => ({ shape, dtype: 'int64', value: values });
const F32 = (shape: number[], values: number[]): OpInput => ({ shape, value: values });
const int = (v: number): AttrValue => ({ i: v });

interface FoldCase {
  label: string;
  op: string;
  inputs: OpInput[];
  attrs?: Record<string, AttrValue>;
}

const foldCases: FoldCase[] = [
  { label: 'Gather negative index', op: 'Gather', inputs: [I64([4], [2, 3, 5, 7]), I64([2], [-1, 0])] },
  { label: 'Gather axis 1', op: 'Gather', inputs: [F32([2, 3], [1, 2, 3, 4, 5, 6]), I64([], [2])], attrs: { axis: int(1) } },
  { label: 'Concat keeps INT64_MAX exact', op: 'Concat', inputs: [I64([1], [Number.MAX_SAFE_INTEGER]), I64([2], [-1, 4])], attrs: { axis: int(0) } },
  { label: 'Slice negative step', op: 'Slice', inputs: [I64([6], [0, 1, 2, 3, 4, 5]), I64([1], [-1]), I64([1], [-100]), I64([1], [0]), I64([1], [-2])] },
  { label: 'Slice 2-D', op: 'Slice', inputs: [F32([3, 4], [...Array(12).keys()]), I64([2], [1, 1]), I64([2], [3, 100])] },
  { label: 'Div int64 truncates', op: 'Div', inputs: [I64([4], [7, -7, 7, -7]), I64([4], [2, 2, -2, -2])] },
  { label: 'Div float32', op: 'Div', inputs: [F32([3], [1, 2, 10]), F32([1], [3])] },
  { label: 'Mul int64 broadcast', op: 'Mul', inputs: [I64([2, 1], [3, 4]), I64([3], [1, 2, 3])] },
  { label: 'Sub', op: 'Sub', inputs: [I64([2], [10, 20]), I64([], [3])] },
  { label: 'Add float', op: 'Add', inputs: [F32([2], [0.1, 0.2]), F32([2], [0.7, 1e-8])] },
  { label: 'Cast float to int32', op: 'Cast', inputs: [F32([4], [-2.7, 2.7, 0.5, 100.9])], attrs: { to: int(6) } },
  { label: 'Cast int64 to float', op: 'Cast', inputs: [I64([2], [3, -9])], attrs: { to: int(1) } },
  { label: 'Cast to bool', op: 'Cast', inputs: [F32([3], [0, -0.5, 2])], attrs: { to: int(9) } },
  { label: 'Range int64', op: 'Range', inputs: [I64([], [10]), I64([], [1]), I64([], [-3])] },
  { label: 'Range float', op: 'Range', inputs: [F32([], [0.5]), F32([], [2]), F32([], [0.25])] },
  { label: 'ConstantOfShape', op: 'ConstantOfShape', inputs: [I64([2], [2, 3])], attrs: { value: { t: tensor('int64', [1], [-4]) } } },
  { label: 'Where', op: 'Where', inputs: [{ shape: [3], dtype: 'bool', value: [1, 0, 1] }, I64([3], [1, 2, 3]), I64([1], [-1])] },
  { label: 'Equal', op: 'Equal', inputs: [I64([3], [1, 2, 3]), I64([1], [2])] },
  { label: 'Less', op: 'Less', inputs: [F32([3], [1, 2, 3]), F32([1], [2])] },
  { label: 'Expand', op: 'Expand', inputs: [I64([2, 1], [1, 2]), I64([3], [2, 2, 3])] },
  { label: 'Tile', op: 'Tile', inputs: [I64([2], [1, 2]), I64([1], [3])] },
  { label: 'Transpose', op: 'Transpose', inputs: [F32([2, 3], [1, 2, 3, 4, 5, 6])] },
  { label: 'ReduceProd', op: 'ReduceProd', inputs: [I64([3], [2, 3, 4])], attrs: { keepdims: int(0) } },
  { label: 'ReduceSum axes', op: 'ReduceSum', inputs: [F32([2, 3], [1, 2, 3, 4, 5, 6]), I64([1], [1])] },
  { label: 'ReduceMax', op: 'ReduceMax', inputs: [F32([2, 3], [1, 9, 3, 4, -5, 6])], attrs: { axes: { ints: [0] } } },
  { label: 'Unsqueeze', op: 'Unsqueeze', inputs: [I64([], [7]), I64([1], [0])] },
  { label: 'Squeeze', op: 'Squeeze', inputs: [I64([1, 2], [7, 8]), I64([1], [0])] },
  { label: 'Reshape', op: 'Reshape', inputs: [F32([2, 3], [1, 2, 3, 4, 5, 6]), I64([2], [3, -1])] },
  { label: 'Neg', op: 'Neg', inputs: [I64([2], [1, -2])] },
  { label: 'Abs', op: 'Abs', inputs: [F32([2], [1.5, -2])] },
  { label: 'Floor', op: 'Floor', inputs: [F32([2], [1.5, -2.5])] },
  { label: 'Sqrt', op: 'Sqrt', inputs: [F32([2], [2, 9])] },
  { label: 'Max variadic', op: 'Max', inputs: [I64([2], [1, 5]), I64([2], [3, 2]), I64([1], [4])] },
];

describe('folded values equal what onnxruntime computes', () => {
  it.each(foldCases.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    const probe = singleOpModel(17, c.op, c.inputs, c.attrs ?? {});
    const node = probe.model.graph.nodes[0]!;
    const g = probe.model.graph;
    const consts = node.inputs.map((i) => g.initializers.get(i));
    const types = consts.map((t) => (t ? { dtype: t.dtype, shape: t.dims } : undefined));
    const outTypes = inferNode(node, types, consts);
    g.outputs[0]!.dtype = outTypes[0]!.dtype;
    const want = (await runModel(probe.model, {}))['out0']!;
    const got = evaluateNode(node, consts, outTypes)![0]!;
    expect(got.dims).toEqual(want.dims);
    expect(got.dtype).toBe(want.dtype);
    expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(Array.from(want.data as ArrayLike<number | bigint>));
  });
});

describe('foldConstants', () => {
  const node = (opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): Node => ({
    name: outputs[0]!,
    opType,
    domain: '',
    inputs,
    outputs,
    attrs,
  });

  it('removes dead nodes and initializers, keeps graph outputs as nodes, leaves large results alone', () => {
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [2, 3] });
    g.initializers.set('unused', tensor('float32', [2], [1, 2]));
    g.initializers.set('big', tensor('int64', [2], [1000, 1000]));
    g.initializers.set('one', tensor('float32', [], [1]));
    g.nodes.push(
      node('Shape', ['x'], ['s']), // a graph output: stays a node
      node('Relu', ['x'], ['dead']), // nothing reads it
      node('ConstantOfShape', ['big'], ['zeros']), // 10^6 elements: not folded
      node('ReduceSum', ['zeros'], ['total'], { keepdims: { i: 0 } }),
      node('Constant', [], ['c'], { value: { t: tensor('float32', [], [2]) } }),
      node('Mul', ['x', 'c'], ['y']),
      node('Add', ['y', 'total'], ['z']),
    );
    g.outputs.push({ name: 's', dtype: 'int64', shape: [] }, { name: 'z', dtype: 'float32', shape: [] });
    const r = foldConstants(g);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Shape', 'ConstantOfShape', 'ReduceSum', 'Mul', 'Add']);
    expect(r).toMatchObject({ folded: 1, removed: 1 });
    expect([...g.initializers.keys()].sort()).toEqual(['big', 'c']);
    expect(g.valueTypes.has('dead')).toBe(false);
    expect(g.valueTypes.get('z')).toEqual({ dtype: 'float32', shape: [2, 3] });
  });

  it('folds Shape of a value whose shape became static earlier in the same pass', () => {
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [4, 6] });
    g.initializers.set('t', tensor('int64', [3], [2, -1, 3]));
    g.nodes.push(
      node('Reshape', ['x', 't'], ['r']),
      node('Shape', ['r'], ['s']),
      node('Reshape', ['x', 's'], ['back'], {}),
      node('Relu', ['back'], ['y']),
    );
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [] });
    foldConstants(g);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Reshape', 'Relu']); // the first Reshape fed only the Shape
    expect(Array.from(g.initializers.get('s')!.data as BigInt64Array, Number)).toEqual([2, 4, 3]);
    expect(isStaticShape(g.valueTypes.get('y')!.shape)).toBe(true);
  });

  it('keeps a graph in file order when it is already topological, and sorts it when not', () => {
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [2] });
    g.nodes.push(node('Relu', ['a'], ['b']), node('Neg', ['x'], ['a']), node('Exp', ['x'], ['c']), node('Add', ['b', 'c'], ['y']));
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [] });
    const m = prepareModel(emptyModel(g));
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['Neg', 'Relu', 'Exp', 'Add']);
  });
});

// A value the fold leaves as is must keep its data: folding a Reshape shares the buffer, it does not copy.
describe('folding shares data', () => {
  it('reshaping a constant keeps its values', () => {
    const t: TensorData = tensor('float32', [2, 2], [1, 2, 3, 4]);
    const n: Node = { name: 'r', opType: 'Reshape', domain: '', inputs: ['a', 'b'], outputs: ['y'], attrs: {} };
    const [out] = evaluateNode(n, [t, tensor('int64', [1], [4])], [{ dtype: 'float32', shape: [4] }])!;
    expect(out!.dims).toEqual([4]);
    expect(Array.from(out!.data as Float32Array)).toEqual([1, 2, 3, 4]);
  });
});
