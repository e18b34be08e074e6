// What the gradient compiler covers: every op the exporters of image classifiers write (TorchScript
// torch.onnx.export at opsets 9-17, the newer exporter's opset 18+ forms, tf2onnx on Keras applications,
// the Caffe converter) has a rule, carries no gradient, or is rewritten by normalization; what is left is
// named by op, node and opset in `fviz inspect`, `fviz doctor` and the compile error.
import { describe, expect, it } from 'vitest';
import { coveredOps, formatUncovered, uncoveredOps } from '../src/autodiff/coverage.ts';
import { formatInspectReport, inspectModel } from '../src/autodiff/inspect.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { compileFused } from '../src/autodiff/compile.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { singleOpModel } from './helpers/models.ts';
import { ObjectiveGradient } from '../src/optvis/objectives/gradient.ts';

/** Ops normalization rewrites into others (tests/onnx-normalize*.test.ts check each against onnxruntime). */
const REWRITTEN = ['Dropout', 'Upsample', 'Scatter', 'Gelu', 'Mish', 'Swish', 'GroupNormalization'];

const EXPORTED: Record<string, string[]> = {
  'torch.onnx.export (TorchScript, opsets 9-17)': [
    'Conv', 'ConvTranspose', 'BatchNormalization', 'InstanceNormalization', 'LayerNormalization', 'Relu', 'LeakyRelu',
    'PRelu', 'Elu', 'Selu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Erf', 'Add', 'Sub', 'Mul',
    'Div', 'Pow', 'Sqrt', 'Reciprocal', 'Neg', 'Exp', 'Log', 'Abs', 'Clip', 'Max', 'Min', 'MaxPool', 'AveragePool',
    'GlobalAveragePool', 'GlobalMaxPool', 'Gemm', 'MatMul', 'Flatten', 'Reshape', 'Transpose', 'Squeeze',
    'Unsqueeze', 'Concat', 'Split', 'Slice', 'Gather', 'GatherElements', 'GatherND', 'Shape', 'Constant',
    'ConstantOfShape', 'Expand', 'Tile', 'Pad', 'Resize', 'Upsample', 'Softmax', 'LogSoftmax', 'ReduceMean',
    'ReduceSum', 'ReduceMax', 'ReduceL2', 'Cast', 'Identity', 'Dropout', 'Einsum', 'ScatterND', 'CumSum', 'Range',
    'Where', 'Equal', 'Less', 'Greater', 'Not', 'Floor', 'Ceil', 'DepthToSpace', 'TopK', 'ArgMax', 'Size', 'Sum',
    'Mean', 'Sin', 'Cos',
  ],
  'torch.onnx.export (dynamo, opsets 18+)': ['Gelu', 'Mish', 'GroupNormalization', 'CastLike', 'ReduceMin', 'Softsign'],
  'tf2onnx (Keras applications)': ['DepthToSpace', 'SpaceToDepth', 'ReduceSumSquare', 'Swish', 'Identity', 'Round'],
  'Caffe converter': ['LRN', 'Conv', 'Gemm', 'Scatter'],
};

describe('exporter coverage', () => {
  for (const [exporter, ops] of Object.entries(EXPORTED))
    it(`every op ${exporter} writes into image classifiers is covered or rewritten`, () => {
      const covered = coveredOps();
      expect(ops.filter((op) => !covered.has(op) && !REWRITTEN.includes(op))).toEqual([]);
    });
});

function twoAtanh(opset: number) {
  const g = emptyGraph('uncovered');
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 3] });
  const b = new GraphBuilder(g);
  const t = b.op('Tanh', ['x']);
  g.nodes.push({ name: 'first_atanh', opType: 'Atanh', domain: '', inputs: [t], outputs: ['a'], attrs: {} });
  g.nodes.push({ name: 'second_atanh', opType: 'Atanh', domain: '', inputs: ['a'], outputs: ['y'], attrs: {} });
  g.outputs = [{ name: 'y', dtype: 'float32', shape: [] }];
  return emptyModel(g, opset);
}

describe('what is left uncovered', () => {
  it('fviz inspect names the op, its nodes and the opset of the file', () => {
    const r = inspectModel(twoAtanh(18), { source: 'm.onnx' });
    expect(r.gradient.uncovered).toEqual(['Atanh']);
    expect(r.uncoveredNodes).toEqual([{ op: 'Atanh', nodes: ['first_atanh', 'second_atanh'], domain: 'ai.onnx', opset: 18 }]);
    expect(formatInspectReport(r)).toContain("  uncovered: Atanh (2 nodes: 'first_atanh', 'second_atanh'; ai.onnx opset 18)");
  });

  it('custom domains show their own opset; ops without gradients are not listed', () => {
    const { model } = singleOpModel(13, 'FusedConv', [{ shape: [1, 2, 3, 3] }, { shape: [2, 2, 1, 1] }], {}, 1, { domain: 'com.microsoft' });
    model.opsets.push({ domain: 'com.microsoft', version: 1 });
    model.graph.nodes.push({ name: 'shape_of', opType: 'Shape', domain: '', inputs: ['out0'], outputs: ['s'], attrs: {} });
    model.graph.outputs.push({ name: 's', dtype: 'int64', shape: [] });
    const u = uncoveredOps(prepareModel(model, { lenient: true }).graph, model.opsets);
    expect(u.map(formatUncovered)).toEqual(["com.microsoft.FusedConv (1 node: 'FusedConv_node'; com.microsoft opset 1)"]);
  });

  it('integer shape arithmetic off the data path needs no rule (Swin computes its window padding with Mod)', () => {
    const g = emptyGraph('paths');
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 4] });
    g.initializers.set('three', { dtype: 'int64', dims: [1], data: new BigInt64Array([3n]) });
    g.nodes.push(
      { name: 'shape', opType: 'Shape', domain: '', inputs: ['x'], outputs: ['s'], attrs: {} },
      { name: 'int_mod', opType: 'Mod', domain: '', inputs: ['s', 'three'], outputs: ['m'], attrs: {} },
      { name: 'float_mod', opType: 'Mod', domain: '', inputs: ['x', 'x'], outputs: ['r'], attrs: { fmod: { i: 1 } } },
    );
    g.valueTypes.set('s', { dtype: 'int64', shape: [2] });
    g.valueTypes.set('m', { dtype: 'int64', shape: [2] });
    g.valueTypes.set('r', { dtype: 'float32', shape: [1, 4] });
    expect(uncoveredOps(g, [{ domain: '', version: 17 }])).toEqual([{ op: 'Mod', nodes: ['float_mod'], domain: 'ai.onnx', opset: 17 }]);
  });

  it('lists five nodes, then an ellipsis', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(formatUncovered({ op: 'Foo', nodes, domain: 'ai.onnx', opset: 21 })).toBe("Foo (7 nodes: 'a', 'b', 'c', 'd', 'e', ...; ai.onnx opset 21)");
  });

  it('the compile error names the op, the node and the opset', async () => {
    // (The opset the file was exported at, when normalization changed it, comes with the control-flow work's
    // source-opset record; an opset-17 file names 17 either way.)
    const model = prepareModel(twoAtanh(17));
    expect(() => compileFused(model, { outputs: ['y'], wrt: ['x'], seedOnes: true })).toThrow(
      /^no gradient rule for op Atanh \(node 'first_atanh', opset 17\); supported ops: /,
    );
    // Through an objective, as fviz grad compiles it.
    await expect(ObjectiveGradient.create(model, { objective: 'y', wrt: ['x'] })).rejects.toThrow(/no gradient rule for op Atanh \(node 'first_atanh', opset 17\)/);
  });
});
