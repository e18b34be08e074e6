// Shape rules against onnxruntime: each case is one node; onnxruntime runs it and the dims and dtype of
// every output must equal what inferNode predicts.
import { describe, expect, it } from 'vitest';
import type { AttrValue, DType, Node, TensorData, ValueType } from '../src/onnx/ir.ts';
import { emptyGraph } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { inferNode, inferShapes } from '../src/onnx/shapes.ts';
import { Session } from '../src/runtime/session.ts';
import { FvizError } from '../src/errors.ts';
import { singleOpModel } from './helpers/models.ts';

interface In {
  shape: number[];
  dtype?: DType;
  /** Constant input (an initializer) with these values. */
  value?: number[];
  /** Omitted optional input. */
  absent?: boolean;
}

interface Case {
  op: string;
  inputs: In[];
  attrs?: Record<string, AttrValue>;
  outputs?: number;
  label?: string;
}

const i64 = (values: number[]): In => ({ shape: [values.length], dtype: 'int64', value: values });
const f32 = (shape: number[]): In => ({ shape });
const none: In = { shape: [], absent: true };
const ints = (v: number[]): AttrValue => ({ ints: v });
const int = (v: number): AttrValue => ({ i: v });
const str = (v: string): AttrValue => ({ s: v });

const unaryOps = ['Relu', 'Sigmoid', 'Tanh', 'Softplus', 'Exp', 'Log', 'Sqrt', 'Abs', 'Neg', 'Reciprocal', 'Erf', 'Sign', 'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Identity', 'Elu', 'LeakyRelu'];

const cases: Case[] = [
  ...unaryOps.map((op) => ({ op, inputs: [f32([2, 3, 4])] })),
  { op: 'Conv', inputs: [f32([1, 4, 9, 9]), f32([6, 4, 3, 3]), f32([6])], attrs: {} },
  { op: 'Conv', label: 'strides+pads', inputs: [f32([2, 4, 9, 10]), f32([6, 4, 3, 3])], attrs: { strides: ints([2, 3]), pads: ints([1, 0, 2, 1]) } },
  { op: 'Conv', label: 'SAME_UPPER', inputs: [f32([1, 2, 9, 10]), f32([3, 2, 4, 3])], attrs: { auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) } },
  { op: 'Conv', label: 'SAME_LOWER', inputs: [f32([1, 2, 7, 8]), f32([3, 2, 2, 3])], attrs: { auto_pad: str('SAME_LOWER'), strides: ints([3, 1]) } },
  { op: 'Conv', label: 'VALID', inputs: [f32([1, 2, 7, 8]), f32([3, 2, 3, 3])], attrs: { auto_pad: str('VALID'), strides: ints([2, 2]) } },
  { op: 'Conv', label: 'dilations+group', inputs: [f32([1, 4, 11, 11]), f32([6, 2, 3, 3])], attrs: { dilations: ints([2, 3]), group: int(2) } },
  { op: 'Conv', label: '1-D', inputs: [f32([2, 3, 20]), f32([5, 3, 4])], attrs: { strides: ints([3]) } },
  { op: 'ConvTranspose', inputs: [f32([1, 4, 5, 5]), f32([4, 3, 3, 3])], attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), output_padding: ints([1, 0]) } },
  { op: 'ConvTranspose', label: 'group+dilations', inputs: [f32([1, 4, 5, 6]), f32([4, 2, 3, 2])], attrs: { group: int(2), dilations: ints([2, 1]) } },
  { op: 'ConvTranspose', label: 'output_shape', inputs: [f32([1, 2, 4, 4]), f32([2, 3, 3, 3])], attrs: { strides: ints([2, 2]), output_shape: ints([9, 10]) } },
  { op: 'ConvTranspose', label: 'SAME_UPPER', inputs: [f32([1, 2, 4, 5]), f32([2, 3, 3, 3])], attrs: { strides: ints([2, 2]), auto_pad: str('SAME_UPPER') } },
  { op: 'Gemm', inputs: [f32([3, 5]), f32([4, 5]), f32([4])], attrs: { transB: int(1) } },
  { op: 'Gemm', label: 'transA', inputs: [f32([5, 3]), f32([5, 4]), f32([3, 1])], attrs: { transA: int(1) } },
  { op: 'MatMul', inputs: [f32([3, 4]), f32([4, 5])] },
  { op: 'MatMul', label: 'batch broadcast', inputs: [f32([2, 1, 3, 4]), f32([5, 4, 6])] },
  { op: 'MatMul', label: '1-D x 2-D', inputs: [f32([4]), f32([2, 4, 3])] },
  { op: 'MatMul', label: '2-D x 1-D', inputs: [f32([2, 3, 4]), f32([4])] },
  { op: 'MatMul', label: '1-D x 1-D', inputs: [f32([4]), f32([4])] },
  { op: 'Add', inputs: [f32([2, 1, 4]), f32([3, 1])] },
  { op: 'Sub', inputs: [f32([4]), f32([2, 3, 1])] },
  { op: 'Mul', inputs: [f32([]), f32([2, 3])] },
  { op: 'Div', inputs: [f32([5, 1, 1]), f32([1, 2, 3])] },
  { op: 'Pow', inputs: [f32([2, 3]), f32([3])] },
  { op: 'Sum', inputs: [f32([2, 1]), f32([1, 3]), f32([3])] },
  { op: 'Mean', inputs: [f32([2, 3]), f32([3])] },
  { op: 'Max', inputs: [f32([4, 1]), f32([3])] },
  { op: 'Min', inputs: [f32([2, 3])] },
  { op: 'Clip', inputs: [f32([2, 3]), { shape: [], value: [-0.5] }, { shape: [], value: [0.5] }] },
  { op: 'MaxPool', inputs: [f32([1, 2, 9, 9])], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([0, 0, 1, 1]), ceil_mode: int(1) }, outputs: 2 },
  { op: 'MaxPool', label: 'ceil drops a window in the padding', inputs: [f32([1, 1, 6, 6])], attrs: { kernel_shape: ints([2, 2]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), ceil_mode: int(1) } },
  { op: 'MaxPool', label: 'dilations', inputs: [f32([1, 2, 10, 11])], attrs: { kernel_shape: ints([3, 2]), dilations: ints([2, 3]) } },
  { op: 'MaxPool', label: 'SAME_UPPER', inputs: [f32([1, 2, 7, 8])], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), auto_pad: str('SAME_UPPER') } },
  { op: 'AveragePool', inputs: [f32([1, 2, 10, 10])], attrs: { kernel_shape: ints([3, 3]), strides: ints([3, 3]), pads: ints([1, 1, 1, 1]), ceil_mode: int(1), count_include_pad: int(1) } },
  { op: 'AveragePool', label: 'floor', inputs: [f32([1, 2, 10, 7])], attrs: { kernel_shape: ints([2, 3]), strides: ints([2, 2]) } },
  { op: 'GlobalAveragePool', inputs: [f32([2, 3, 5, 4])] },
  { op: 'GlobalMaxPool', inputs: [f32([2, 3, 5])] },
  { op: 'LRN', inputs: [f32([1, 6, 4, 4])], attrs: { size: int(3) } },
  { op: 'BatchNormalization', inputs: [f32([2, 3, 4, 4]), f32([3]), f32([3]), f32([3]), { shape: [3], value: [1, 2, 3] }] },
  { op: 'InstanceNormalization', inputs: [f32([2, 3, 4, 4]), f32([3]), f32([3])] },
  { op: 'LayerNormalization', inputs: [f32([2, 3, 4]), f32([4]), f32([4])], attrs: { axis: int(-1) }, outputs: 3 },
  { op: 'Flatten', inputs: [f32([2, 3, 4, 5])], attrs: { axis: int(2) } },
  { op: 'Flatten', label: 'axis 0', inputs: [f32([2, 3, 4])], attrs: { axis: int(0) } },
  { op: 'Flatten', label: 'axis -1', inputs: [f32([2, 3, 4])], attrs: { axis: int(-1) } },
  { op: 'Reshape', inputs: [f32([2, 3, 4]), i64([0, -1])] },
  { op: 'Reshape', label: '-1 first', inputs: [f32([2, 3, 4]), i64([-1, 3, 2])] },
  { op: 'Squeeze', inputs: [f32([1, 3, 1, 2]), i64([0, -2])] },
  { op: 'Squeeze', label: 'all ones', inputs: [f32([1, 3, 1, 2])] },
  { op: 'Unsqueeze', inputs: [f32([3, 2]), i64([0, -1])] },
  { op: 'Transpose', inputs: [f32([2, 3, 4])] },
  { op: 'Transpose', label: 'perm', inputs: [f32([2, 3, 4, 5])], attrs: { perm: ints([0, 2, 3, 1]) } },
  { op: 'Concat', inputs: [f32([2, 3]), f32([2, 5]), f32([2, 1])], attrs: { axis: int(-1) } },
  { op: 'Split', inputs: [f32([6, 4])], attrs: { axis: int(0) }, outputs: 3 },
  { op: 'Split', label: 'explicit', inputs: [f32([2, 7]), i64([3, 4])], attrs: { axis: int(1) }, outputs: 2 },
  { op: 'Slice', inputs: [f32([10, 8]), i64([-3, 1]), i64([9007199254740991, -1])] },
  { op: 'Slice', label: 'steps and axes', inputs: [f32([10, 8, 6]), i64([8, 0]), i64([-20, 6]), i64([0, -1]), i64([-2, 4])] },
  { op: 'Slice', label: 'empty', inputs: [f32([5, 4]), i64([4]), i64([2]), i64([0])] },
  { op: 'Pad', inputs: [f32([2, 3, 4]), i64([0, 1, 2, 1, 0, 3])] },
  { op: 'Pad', label: 'reflect', inputs: [f32([1, 2, 5, 5]), i64([0, 0, 2, 1, 0, 0, 1, 2])], attrs: { mode: str('reflect') } },
  { op: 'Pad', label: 'negative', inputs: [f32([4, 6]), i64([-1, 0, 0, -2])] },
  { op: 'Gather', inputs: [f32([4, 5, 6]), { shape: [2, 3], dtype: 'int64', value: [0, 1, 2, 3, -1, 4] }], attrs: { axis: int(1) } },
  { op: 'Gather', label: 'scalar index', inputs: [f32([4, 5]), { shape: [], dtype: 'int64', value: [2] }] },
  { op: 'GatherElements', inputs: [f32([3, 4]), { shape: [2, 4], dtype: 'int64', value: [0, 1, 2, 0, 1, 2, 0, 1] }], attrs: { axis: int(0) } },
  { op: 'ScatterElements', inputs: [f32([3, 4]), { shape: [1, 2], dtype: 'int64', value: [1, 3] }, f32([1, 2])], attrs: { axis: int(1), reduction: str('add') } },
  { op: 'Softmax', inputs: [f32([2, 3, 4])], attrs: { axis: int(1) } },
  { op: 'LogSoftmax', inputs: [f32([2, 3])] },
  { op: 'ReduceSum', inputs: [f32([2, 3, 4]), i64([1])], attrs: { keepdims: int(0) } },
  { op: 'ReduceSum', label: 'all', inputs: [f32([2, 3, 4])] },
  { op: 'ReduceSum', label: 'noop', inputs: [f32([2, 3, 4]), { shape: [0], dtype: 'int64', value: [] }], attrs: { noop_with_empty_axes: int(1) } },
  { op: 'ReduceMean', inputs: [f32([2, 3, 4, 5])], attrs: { axes: ints([2, 3]) } },
  { op: 'ReduceMax', inputs: [f32([2, 3, 4])], attrs: { axes: ints([-1]), keepdims: int(0) } },
  { op: 'ReduceMin', inputs: [f32([2, 3, 4])], attrs: { keepdims: int(0) } },
  { op: 'ReduceL2', inputs: [f32([2, 3, 4])], attrs: { axes: ints([0]) } },
  { op: 'ReduceSumSquare', inputs: [f32([2, 3, 4])], attrs: { axes: ints([1]) } },
  { op: 'ReduceProd', inputs: [f32([2, 3, 4])], attrs: { axes: ints([0, 2]), keepdims: int(0) } },
  { op: 'Resize', label: 'scales', inputs: [f32([1, 2, 5, 7]), none, { shape: [4], value: [1, 1, 1.7, 0.6] }], attrs: { mode: str('linear') } },
  { op: 'Resize', label: 'sizes', inputs: [f32([1, 2, 5, 7]), none, none, i64([1, 2, 9, 3])], attrs: { mode: str('nearest') } },
  { op: 'Cast', inputs: [f32([2, 3])], attrs: { to: int(6) } },
  { op: 'Cast', label: 'to bool', inputs: [f32([2, 3])], attrs: { to: int(9) } },
  { op: 'Constant', inputs: [], attrs: { value_ints: ints([1, 2, 3]) } },
  { op: 'Constant', label: 'tensor', inputs: [], attrs: { value: { t: tensor('float32', [2, 2], [1, 2, 3, 4]) } } },
  { op: 'ConstantOfShape', inputs: [i64([2, 3])], attrs: { value: { t: tensor('int64', [1], [7]) } } },
  { op: 'Shape', inputs: [f32([2, 3, 4, 5])], attrs: { start: int(1), end: int(-1) } },
  { op: 'Shape', label: 'plain', inputs: [f32([2, 3])] },
  { op: 'Size', inputs: [f32([2, 3])] },
  { op: 'Range', inputs: [{ shape: [], value: [0.5] }, { shape: [], value: [4] }, { shape: [], value: [0.75] }] },
  { op: 'Range', label: 'int64 down', inputs: [{ shape: [], dtype: 'int64', value: [10] }, { shape: [], dtype: 'int64', value: [1] }, { shape: [], dtype: 'int64', value: [-3] }] },
  { op: 'Expand', inputs: [f32([3, 1]), i64([2, 1, 4])] },
  { op: 'Tile', inputs: [f32([2, 3]), i64([2, 3])] },
  { op: 'Where', inputs: [{ shape: [2, 1], dtype: 'bool', value: [1, 0] }, f32([3]), f32([2, 3])] },
  { op: 'Equal', inputs: [f32([2, 3]), f32([3])] },
  { op: 'Less', inputs: [f32([2, 1]), f32([3])] },
  { op: 'Greater', inputs: [f32([2, 3]), f32([])] },
  { op: 'Not', inputs: [{ shape: [3], dtype: 'bool', value: [1, 0, 1] }] },
  { op: 'And', inputs: [{ shape: [3], dtype: 'bool', value: [1, 0, 1] }, { shape: [2, 1], dtype: 'bool', value: [1, 0] }] },
  { op: 'ArgMax', inputs: [f32([2, 3, 4])], attrs: { axis: int(1), keepdims: int(0) } },
  { op: 'ArgMin', inputs: [f32([2, 3, 4])], attrs: { axis: int(-1) } },
  { op: 'TopK', inputs: [f32([3, 7]), i64([4])], outputs: 2 },
  { op: 'DFT', inputs: [f32([2, 8, 1])], attrs: { onesided: int(1) } },
  { op: 'DFT', label: 'complex, length', inputs: [f32([2, 6, 5, 2]), { shape: [], dtype: 'int64', value: [8] }], attrs: { axis: int(2) } },
  { op: 'GridSample', inputs: [f32([1, 2, 5, 6]), { shape: [1, 3, 4, 2], value: Array.from({ length: 24 }, (_, k) => ((k % 7) - 3) / 3) }] },
  { op: 'Einsum', inputs: [f32([2, 3, 4]), f32([2, 4, 5])], attrs: { equation: str('bij,bjk->bik') } },
  { op: 'Einsum', label: 'implicit', inputs: [f32([3, 4]), f32([4, 5])], attrs: { equation: str('ij,jk') } },
  { op: 'Einsum', label: 'ellipsis', inputs: [f32([2, 6, 3, 4])], attrs: { equation: str('...ij->...ji') } },
  { op: 'Dropout', inputs: [f32([2, 3])], outputs: 2 },
  { op: 'DepthToSpace', inputs: [f32([1, 8, 2, 3])], attrs: { blocksize: int(2) } },
  { op: 'SpaceToDepth', inputs: [f32([1, 2, 4, 6])], attrs: { blocksize: int(2) } },
  { op: 'OneHot', inputs: [{ shape: [2, 2], dtype: 'int64', value: [0, 1, 2, 3] }, { shape: [], dtype: 'int64', value: [5] }, { shape: [2], value: [0, 1] }], attrs: { axis: int(1) } },
  { op: 'Trilu', inputs: [f32([3, 4])] },
  { op: 'CumSum', inputs: [f32([3, 4]), { shape: [], dtype: 'int64', value: [1] }] },
  { op: 'PRelu', inputs: [f32([2, 3, 4]), f32([3, 1])] },
];

function caseName(c: Case): string {
  return c.label ? `${c.op} (${c.label})` : c.op;
}

function build(c: Case, seed: number) {
  const { model, feeds } = singleOpModel(17, c.op, c.inputs, c.attrs ?? {}, c.outputs ?? 1, { seed });
  const g = model.graph;
  const node = g.nodes[0]!;
  const types: (ValueType | undefined)[] = c.inputs.map((inp) => (inp.absent ? undefined : { dtype: inp.dtype ?? 'float32', shape: inp.shape }));
  const consts = node.inputs.map((n) => (n ? g.initializers.get(n) : undefined));
  const predicted = inferNode(node, types, consts);
  // onnxruntime refuses a declared output dtype that differs from the op's: a second check of the dtype.
  g.outputs = node.outputs.map((name, k) => ({ name, dtype: predicted[k]!.dtype, shape: [] }));
  return { model, node, predicted, feeds };
}

describe('inferNode agrees with onnxruntime', () => {
  it.each(cases.map((c, k) => [caseName(c), c, k] as const))('%s', async (_name, c, k) => {
    const { model, node, predicted, feeds } = build(c, 5 + k);
    const s = await Session.create(model, { threads: 1 });
    const got = await s.run(feeds);
    await s.release();
    node.outputs.forEach((o, k) => {
      expect({ dims: got[o]!.dims, dtype: got[o]!.dtype }).toEqual({ dims: predicted[k]!.shape, dtype: predicted[k]!.dtype });
    });
  });
});

describe('symbolic dims', () => {
  const node = (opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = ['y']): Node => ({
    name: opType,
    opType,
    domain: '',
    inputs,
    outputs,
    attrs,
  });

  it('carries a named batch dim through conv, pooling, flatten and gemm', () => {
    const x: ValueType = { dtype: 'float32', shape: ['N', 3, 8, 8] };
    const [c] = inferNode(node('Conv', ['x', 'w']), [x, { dtype: 'float32', shape: [4, 3, 3, 3] }], []);
    expect(c!.shape).toEqual(['N', 4, 6, 6]);
    const [f] = inferNode(node('Flatten', ['c']), [c], []);
    expect(f!.shape).toEqual(['N', 144]);
    const [g] = inferNode(node('Gemm', ['f', 'w'], { transB: { i: 1 } }), [f, { dtype: 'float32', shape: [10, 144] }], []);
    expect(g!.shape).toEqual(['N', 10]);
  });

  it('solves the -1 of a reshape when symbols cancel', () => {
    const x: ValueType = { dtype: 'float32', shape: ['N', 16, 4, 4] };
    const sh: ValueType = { dtype: 'int64', shape: [2] };
    expect(inferNode(node('Reshape', ['x', 's']), [x, sh], [undefined, tensor('int64', [2], [0, -1])])[0]!.shape).toEqual(['N', 256]);
    expect(inferNode(node('Reshape', ['x', 's']), [x, sh], [undefined, tensor('int64', [2], [-1, 256])])[0]!.shape).toEqual(['N', 256]);
    // 'N' * 256 / 128 has no name: a fresh unknown dim
    const [y] = inferNode(node('Reshape', ['x', 's']), [x, sh], [undefined, tensor('int64', [2], [-1, 128])]);
    expect(y!.shape[1]).toBe(128);
    expect(String(y!.shape[0]).startsWith('?')).toBe(true);
  });

  it("follows PyTorch's Shape -> Gather -> Unsqueeze -> Concat -> Reshape without a fixed batch", () => {
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: ['batch', 16, 4, 4] });
    g.initializers.set('zero', tensor('int64', [], [0]));
    g.initializers.set('ax', tensor('int64', [1], [0]));
    g.initializers.set('m1', tensor('int64', [1], [-1]));
    g.nodes.push(
      node('Shape', ['x'], {}, ['s']),
      node('Gather', ['s', 'zero'], {}, ['b']),
      node('Unsqueeze', ['b', 'ax'], {}, ['b1']),
      node('Concat', ['b1', 'm1'], { axis: { i: 0 } }, ['t']),
      node('Reshape', ['x', 't'], {}, ['y']),
    );
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [] });
    inferShapes(g);
    expect(g.valueTypes.get('y')!.shape).toEqual(['batch', 256]);
    expect(g.outputs[0]!.shape).toEqual(['batch', 256]);
  });

  it('broadcasts a symbol against a number and keeps equal symbols', () => {
    const [y] = inferNode(node('Add', ['a', 'b']), [
      { dtype: 'float32', shape: ['N', 1, 5] },
      { dtype: 'float32', shape: ['N', 3, 1] },
    ], []);
    expect(y!.shape).toEqual(['N', 3, 5]);
  });
});

describe('errors', () => {
  it('names the op and node when an op has no rule', () => {
    const n: Node = { name: 'lstm1', opType: 'LSTM', domain: '', inputs: ['x'], outputs: ['y'], attrs: {} };
    expect(() => inferNode(n, [{ dtype: 'float32', shape: [1, 2, 3] }], [])).toThrow(/no shape rule for op LSTM \(node 'lstm1', opset 17\)/);
  });

  it('rejects shapes that do not fit, with one line', () => {
    const n: Node = { name: 'mm', opType: 'MatMul', domain: '', inputs: ['a', 'b'], outputs: ['y'], attrs: {} };
    const f = () => inferNode(n, [{ dtype: 'float32', shape: [2, 3] }, { dtype: 'float32', shape: [4, 5] }], []);
    expect(f).toThrow(FvizError);
    expect(f).toThrow(/inner dimensions differ/);
  });

  it('turns malformed attributes into FvizError', () => {
    const n: Node = { name: 'c', opType: 'Conv', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: { strides: { f: 2 } } };
    expect(() => inferNode(n, [{ dtype: 'float32', shape: [1, 1, 4, 4] }, { dtype: 'float32', shape: [1, 1, 3, 3] }], [])).toThrow(FvizError);
  });
});
