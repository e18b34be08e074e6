// Normalization to opset 17 against onnxruntime running the original old- or new-opset model.
import { describe, expect, it } from 'vitest';
import type { AttrValue, DType, Model } from '../src/onnx/ir.ts';
import { defaultOpset, isStaticShape } from '../src/onnx/ir.ts';
import { normalizeModel } from '../src/onnx/normalize.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { inferShapes } from '../src/onnx/shapes.ts';
import { FvizError } from '../src/errors.ts';
import { maxAbsDiff, randomInput, runAllValues, runModel, singleOpModel, zooCnn, type OpInput, expectConversionMatches, type OpConversion, ints, int, str, f, f32, i64 } from './helpers/models.ts';
import { Rng } from '../src/util/rng.ts';


describe('model-zoo layouts (Caffe2-converted) at old opsets', () => {
  it.each([7, 9, 10, 11, 12, 13])('opset %i: same outputs as onnxruntime on the original, and every shape as it reports', async (opset) => {
    const original = zooCnn(opset);
    const prepared = prepareModel(original);
    expect(defaultOpset(prepared)).toBe(17);
    const ops = new Set(prepared.graph.nodes.map((n) => n.opType));
    for (const gone of ['Dropout', 'Upsample']) expect(ops.has(gone)).toBe(false);
    const feeds = { data_0: randomInput(new Rng(opset), [1, 3, 15, 15]) };
    const want = await runModel(original, feeds);
    const got = await runModel(prepared, feeds);
    for (const name of ['prob_1', 'prob_map_1']) {
      expect(got[name]!.dims).toEqual(want[name]!.dims);
      expect(maxAbsDiff(got[name]!, want[name]!)).toBeLessThan(1e-5);
    }
    // Every value of the prepared graph, as onnxruntime computes it, has the inferred static shape.
    const all = await runAllValues(prepared, feeds);
    const values = prepared.graph.nodes.flatMap((n) => n.outputs);
    expect(Object.keys(all).sort()).toEqual([...values].sort());
    for (const name of values) {
      const t = prepared.graph.valueTypes.get(name)!;
      expect(isStaticShape(t.shape)).toBe(true);
      expect([name, all[name]!.dims, all[name]!.dtype]).toEqual([name, t.shape, t.dtype]);
    }
    // The original's intermediates, run at their own opset, have the same shapes.
    const orig = await runAllValues(original, feeds, prepared);
    expect(Object.keys(orig).length).toBeGreaterThan(15);
    for (const [name, v] of Object.entries(orig)) expect([name, v.dims]).toEqual([name, prepared.graph.valueTypes.get(name)!.shape]);
    // inferShapes on the normalized, unfolded graph agrees too.
    const normalized = normalizeModel(original);
    inferShapes(normalized.graph);
    for (const [name, v] of Object.entries(orig)) expect([name, v.dims]).toEqual([name, normalized.graph.valueTypes.get(name)!.shape]);
  });
});


const conversions: OpConversion[] = [
  { label: 'Upsample-7 nearest', opset: 7, op: 'Upsample', inputs: [f32([1, 2, 3, 4])], attrs: { mode: str('nearest'), scales: { floats: [1, 1, 2, 3] } }, gone: ['Upsample'] },
  { label: 'Upsample-7 linear', opset: 7, op: 'Upsample', inputs: [f32([1, 2, 3, 4])], attrs: { mode: str('linear'), scales: { floats: [1, 1, 2, 2.5] } } },
  { label: 'Upsample-9 nearest, fractional scale', opset: 9, op: 'Upsample', inputs: [f32([1, 2, 5, 4]), { shape: [4], value: [1, 1, 1.5, 2.25] }], attrs: { mode: str('nearest') } },
  { label: 'Upsample-9 linear', opset: 9, op: 'Upsample', inputs: [f32([1, 1, 4, 3]), { shape: [4], value: [1, 1, 3, 2] }], attrs: { mode: str('linear') } },
  { label: 'Resize-10 nearest downsample', opset: 10, op: 'Resize', inputs: [f32([1, 2, 9, 10]), { shape: [4], value: [1, 1, 0.6, 0.35] }], attrs: { mode: str('nearest') } },
  { label: 'Resize-10 linear', opset: 10, op: 'Resize', inputs: [f32([1, 2, 4, 5]), { shape: [4], value: [1, 1, 2, 1.5] }], attrs: { mode: str('linear') } },
  { label: 'Slice-9 attributes', opset: 9, op: 'Slice', inputs: [f32([5, 6, 7])], attrs: { starts: ints([1, -4]), ends: ints([100, -1]) }, gone: [] },
  { label: 'Pad-9 attributes', opset: 9, op: 'Pad', inputs: [f32([2, 3, 4])], attrs: { pads: ints([0, 1, 2, 0, 2, 1]), value: f(1.5) } },
  { label: 'Pad-9 edge', opset: 9, op: 'Pad', inputs: [f32([1, 2, 3, 4])], attrs: { pads: ints([0, 0, 1, 2, 0, 0, 2, 1]), mode: str('edge') } },
  { label: 'Pad-18 axes', opset: 18, op: 'Pad', inputs: [f32([2, 3, 4]), i64([1, 2, 3, 0]), { shape: [], value: [0.5] }, i64([-1, 1])] },
  { label: 'Squeeze-11 attributes', opset: 11, op: 'Squeeze', inputs: [f32([1, 3, 1, 2])], attrs: { axes: ints([-2]) } },
  { label: 'Squeeze-11 all', opset: 11, op: 'Squeeze', inputs: [f32([1, 3, 1, 2])] },
  { label: 'Unsqueeze-9', opset: 9, op: 'Unsqueeze', inputs: [f32([3, 2])], attrs: { axes: ints([0, 3]) } },
  { label: 'ReduceSum-11 attributes', opset: 11, op: 'ReduceSum', inputs: [f32([2, 3, 4])], attrs: { axes: ints([0, 2]), keepdims: int(0) } },
  { label: 'ReduceMean-18 axes input', opset: 18, op: 'ReduceMean', inputs: [f32([2, 3, 4]), i64([-1])] },
  { label: 'ReduceMax-18 no axes, noop', opset: 18, op: 'ReduceMax', inputs: [f32([2, 3])], attrs: { noop_with_empty_axes: int(1) } },
  { label: 'ReduceL2-18 all axes', opset: 18, op: 'ReduceL2', inputs: [f32([2, 3])], attrs: { keepdims: int(0) } },
  { label: 'Split-11 split attribute', opset: 11, op: 'Split', inputs: [f32([2, 7])], attrs: { axis: int(1), split: ints([2, 5]) }, outputs: 2 },
  { label: 'Split-18 num_outputs, uneven', opset: 18, op: 'Split', inputs: [f32([7, 2])], attrs: { num_outputs: int(3) }, outputs: 3 },
  { label: 'Split-18 num_outputs, even', opset: 18, op: 'Split', inputs: [f32([6, 2])], attrs: { num_outputs: int(2) }, outputs: 2 },
  { label: 'Clip-7 attributes', opset: 7, op: 'Clip', inputs: [f32([3, 4])], attrs: { min: f(-0.25), max: f(0.5) } },
  { label: 'Clip-7 min only', opset: 7, op: 'Clip', inputs: [f32([3, 4])], attrs: { min: f(0) } },
  { label: 'TopK-9 k attribute', opset: 9, op: 'TopK', inputs: [f32([3, 8])], attrs: { k: int(3) }, outputs: 2, outDtypes: ['float32', 'int64'] },
  { label: 'Softmax-11 coerced to 2-D', opset: 11, op: 'Softmax', inputs: [f32([2, 3, 4])], attrs: { axis: int(1) } },
  { label: 'LogSoftmax-9 default axis on 4-D', opset: 9, op: 'LogSoftmax', inputs: [f32([2, 3, 2, 2])] },
  { label: 'Hardmax-12 axis 0', opset: 12, op: 'Hardmax', inputs: [f32([2, 3])], attrs: { axis: int(0) } },
  { label: 'Softmax-9 over trailing ones', opset: 9, op: 'Softmax', inputs: [f32([2, 5, 1, 1])] },
  { label: 'Scatter-9', opset: 9, op: 'Scatter', inputs: [f32([3, 4]), { shape: [1, 2], dtype: 'int64', value: [1, 3] }, f32([1, 2])], attrs: { axis: int(1) }, gone: ['Scatter'] },
  { label: 'BatchNormalization-7 spatial', opset: 7, op: 'BatchNormalization', inputs: [f32([2, 3, 4, 4]), f32([3]), f32([3]), f32([3]), { shape: [3], value: [1, 2, 3] }], attrs: { spatial: int(1), epsilon: f(1e-3) } },
  { label: 'BatchNormalization-15 inference', opset: 15, op: 'BatchNormalization', inputs: [f32([2, 3, 4]), f32([3]), f32([3]), f32([3]), { shape: [3], value: [1, 2, 3] }], attrs: { training_mode: int(0) } },
  { label: 'Dropout-7 ratio', opset: 7, op: 'Dropout', inputs: [f32([2, 3])], attrs: { ratio: f(0.3) }, gone: ['Dropout'] },
  { label: 'Dropout-13 ratio input', opset: 13, op: 'Dropout', inputs: [f32([2, 3]), { shape: [], value: [0.2] }], gone: ['Dropout'] },
  { label: 'Resize-18 axes', opset: 18, op: 'Resize', inputs: [f32([1, 2, 3, 4]), { shape: [], absent: true }, { shape: [2], value: [2, 1.5] }], attrs: { mode: str('linear'), axes: ints([2, 3]) } },
  { label: 'Resize-19 half_pixel', opset: 19, op: 'Resize', inputs: [f32([1, 2, 3, 4]), { shape: [], absent: true }, { shape: [4], value: [1, 1, 2, 2] }], attrs: { mode: str('cubic') } },
  { label: 'AveragePool-19 unit dilations', opset: 19, op: 'AveragePool', inputs: [f32([1, 2, 6, 6])], attrs: { kernel_shape: ints([2, 2]), dilations: ints([1, 1]) } },
  { label: 'Cast-19 saturate', opset: 19, op: 'Cast', inputs: [f32([2, 3])], attrs: { to: int(1), saturate: int(1) } },
  { label: 'GridSample-20 linear', opset: 20, op: 'GridSample', inputs: [f32([1, 2, 4, 5]), { shape: [1, 3, 2, 2], value: [-1, -0.5, 0.2, 0.9, 0.3, -0.7, 1, 1, 0, 0, -0.9, 0.4] }], attrs: { mode: str('linear') } },
  { label: 'DFT-20 axis input', opset: 20, op: 'DFT', inputs: [f32([2, 6, 4, 1]), { shape: [], absent: true }, { shape: [], dtype: 'int64', value: [2] }] },
  { label: 'Gelu-20', opset: 20, op: 'Gelu', inputs: [f32([3, 5])], gone: ['Gelu'] },
  { label: 'Gelu-20 tanh', opset: 20, op: 'Gelu', inputs: [f32([3, 5])], attrs: { approximate: str('tanh') }, gone: ['Gelu'] },
  { label: 'Mish-18', opset: 18, op: 'Mish', inputs: [f32([3, 5])], gone: ['Mish'] },
  { label: 'Swish-24', opset: 24, op: 'Swish', inputs: [f32([3, 5])], attrs: { alpha: f(1.5) }, gone: ['Swish'] },
  { label: 'Conv at opset 26', opset: 26, op: 'Conv', inputs: [f32([1, 2, 5, 5]), f32([3, 2, 3, 3])] },
];

describe('op conversions match onnxruntime on the original', () => {
  it.each(conversions.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    await expectConversionMatches(c, 1e-5);
  });
});

describe('refusals', () => {
  const relu = (opset: number): Model => singleOpModel(opset, 'Relu', [f32([2])]).model;

  it('names the opset range onnxruntime runs and the fix, in one line', () => {
    expect(() => normalizeModel(relu(3), { source: 'old.onnx' })).toThrow(
      'old.onnx uses opset 3 of ai.onnx; fviz reads opsets 7-26 (onnxruntime 1.30 runs up to 26): re-export with opset_version=17',
    );
    expect(() => normalizeModel(relu(99), { source: 'new.onnx' })).toThrow(/new\.onnx uses opset 99 of ai\.onnx; .*re-export with opset_version=17$/);
  });

  it('refuses a Dropout whose mask is used', () => {
    const { model } = singleOpModel(13, 'Dropout', [f32([2, 3])], {}, 2, { outDtypes: ['float32', 'bool'] });
    expect(() => prepareModel(model)).toThrow(/output 'out1' is used/);
  });

  it('refuses BatchNormalization in training mode and ops with no opset-17 form', () => {
    const bn = singleOpModel(15, 'BatchNormalization', [f32([2, 3]), f32([3]), f32([3]), f32([3]), f32([3])], { training_mode: int(1) }).model;
    expect(() => prepareModel(bn)).toThrow(/training_mode=1/);
    const col2im = singleOpModel(18, 'Col2Im', [f32([1, 4, 9]), i64([4, 4]), i64([2, 2])]).model;
    expect(() => prepareModel(col2im)).toThrow(FvizError);
    expect(() => prepareModel(col2im)).toThrow(/Col2Im \(new in opset 18\) has no opset-17 form/);
  });

  it('leaves other domains alone and does not modify its input', () => {
    const { model } = singleOpModel(11, 'FusedConv', [f32([1, 2, 3, 3]), f32([2, 2, 1, 1])], { activation: str('Relu') }, 1, { domain: 'com.microsoft' });
    model.opsets.push({ domain: 'com.microsoft', version: 1 });
    const before = JSON.stringify(model.graph.nodes);
    const n = normalizeModel(model);
    expect(n.graph.nodes[0]!.domain).toBe('com.microsoft');
    expect(n.opsets).toEqual([{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
    expect(JSON.stringify(model.graph.nodes)).toBe(before);
    expect(defaultOpset(model)).toBe(11);
  });
});
