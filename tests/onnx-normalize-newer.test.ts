// The opset 18-21 forms exporters write, normalized to opset 17, against onnxruntime running the original
// node at its own opset; GroupNormalization's rewrite also differentiates (finite differences).
import { describe, expect, it } from 'vitest';
import type { AttrValue } from '../src/onnx/ir.ts';
import { defaultOpset } from '../src/onnx/ir.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { maxAbsDiff, runModel, singleOpModel, type OpInput, expectConversionMatches, type OpConversion, ints, int, str, f, f32, i64 } from './helpers/models.ts';
import { gradCheck } from './helpers/gradcheck.ts';

const params = (shape: number[], seed: number): OpInput => ({
  shape,
  value: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, k) => Math.sin(seed + 1.7 * k) + (seed % 2 ? 1 : 0)),
});


const cases: OpConversion[] = [
  // GroupNormalization: opset 18 takes per-group Scale and B, opset 21 per-channel ones.
  { label: 'GroupNormalization-18, 2 groups of 3 channels', opset: 18, op: 'GroupNormalization', inputs: [f32([2, 6, 4, 5]), params([2], 1), params([2], 2)], attrs: { num_groups: int(2) }, gone: ['GroupNormalization'] },
  { label: 'GroupNormalization-18, one group (LayerNorm over C, H, W), epsilon 1e-3', opset: 18, op: 'GroupNormalization', inputs: [f32([1, 4, 3, 3]), params([1], 3), params([1], 4)], attrs: { num_groups: int(1), epsilon: f(1e-3) } },
  { label: 'GroupNormalization-18, a group per channel, 3-D input', opset: 18, op: 'GroupNormalization', inputs: [f32([2, 4, 7]), params([4], 5), params([4], 6)], attrs: { num_groups: int(4) } },
  { label: 'GroupNormalization-21, per-channel Scale and B', opset: 21, op: 'GroupNormalization', inputs: [f32([2, 6, 4, 5]), params([6], 7), params([6], 8)], attrs: { num_groups: int(3) }, gone: ['GroupNormalization'] },
  { label: 'GroupNormalization-21, 5-D input', opset: 21, op: 'GroupNormalization', inputs: [f32([1, 4, 2, 3, 3]), params([4], 9), params([4], 10)], attrs: { num_groups: int(2), epsilon: f(1e-2) } },
  // Reductions with axes as an input (opset 18).
  { label: 'ReduceSumSquare-18 axes input, keepdims 0', opset: 18, op: 'ReduceSumSquare', inputs: [f32([2, 3, 4]), i64([0, -1])], attrs: { keepdims: int(0) } },
  { label: 'ReduceLogSumExp-18 axes input', opset: 18, op: 'ReduceLogSumExp', inputs: [f32([2, 3, 4]), i64([1])] },
  { label: 'ReduceMean-18 empty axes input, noop', opset: 18, op: 'ReduceMean', inputs: [f32([2, 3]), { shape: [0], dtype: 'int64', value: [] }], attrs: { noop_with_empty_axes: int(1) } },
  { label: 'ReduceMax-18 empty axes input (all axes)', opset: 18, op: 'ReduceMax', inputs: [f32([2, 3]), { shape: [0], dtype: 'int64', value: [] }] },
  { label: 'ReduceL1-18 axes input', opset: 18, op: 'ReduceL1', inputs: [f32([2, 3, 4]), i64([2])] },
  { label: 'ReduceProd-18 axes input', opset: 18, op: 'ReduceProd', inputs: [f32([2, 3, 2]), i64([1])] },
  { label: 'ReduceSum-18 noop with no axes', opset: 18, op: 'ReduceSum', inputs: [f32([2, 3])], attrs: { noop_with_empty_axes: int(1) } },
  // Split with num_outputs (18), Pad with axes (18), Resize 18/19.
  { label: 'Split-18 num_outputs on the channel axis', opset: 18, op: 'Split', inputs: [f32([1, 6, 2, 2])], attrs: { axis: int(1), num_outputs: int(3) }, outputs: 3 },
  { label: 'Split-18 num_outputs, uneven, negative axis', opset: 18, op: 'Split', inputs: [f32([2, 3, 5])], attrs: { axis: int(-1), num_outputs: int(2) }, outputs: 2 },
  { label: 'Pad-18 axes, reflect', opset: 18, op: 'Pad', inputs: [f32([1, 2, 4, 5]), i64([1, 2, 2, 1]), { shape: [], absent: true }, i64([2, 3])], attrs: { mode: str('reflect') } },
  { label: 'Pad-18 axes, edge, one axis', opset: 18, op: 'Pad', inputs: [f32([1, 2, 4, 5]), i64([0, 3]), { shape: [], absent: true }, i64([-2])], attrs: { mode: str('edge') } },
  { label: 'Pad-19 constant (no axes)', opset: 19, op: 'Pad', inputs: [f32([1, 2, 3]), i64([0, 0, 1, 0, 1, 2])] },
  { label: 'Resize-18 sizes with axes, nearest', opset: 18, op: 'Resize', inputs: [f32([1, 2, 3, 4]), { shape: [], absent: true }, { shape: [], absent: true }, i64([6, 8])], attrs: { mode: str('nearest'), axes: ints([2, 3]) } },
  { label: 'Resize-18 explicit antialias 0 and stretch', opset: 18, op: 'Resize', inputs: [f32([1, 2, 3, 4]), { shape: [], absent: true }, { shape: [4], value: [1, 1, 2, 2] }], attrs: { mode: str('linear'), antialias: int(0), keep_aspect_ratio_policy: str('stretch'), coordinate_transformation_mode: str('half_pixel') } },
  { label: 'Resize-19 pytorch_half_pixel bilinear (the newer exporter)', opset: 19, op: 'Resize', inputs: [f32([1, 2, 4, 4]), { shape: [], absent: true }, { shape: [4], value: [1, 1, 0.5, 0.5] }], attrs: { mode: str('linear'), coordinate_transformation_mode: str('pytorch_half_pixel') } },
  // Elementwise ops the newer exporter writes as single nodes.
  { label: 'Gelu-20 on 4-D', opset: 20, op: 'Gelu', inputs: [f32([1, 3, 2, 2])], gone: ['Gelu'] },
  { label: 'Mish-22', opset: 22, op: 'Mish', inputs: [f32([3, 4])], gone: ['Mish'] },
  { label: 'HardSwish-22', opset: 22, op: 'HardSwish', inputs: [f32([3, 4])] },
  { label: 'HardSigmoid-22 alpha, beta', opset: 22, op: 'HardSigmoid', inputs: [f32([3, 4])], attrs: { alpha: f(0.25), beta: f(0.4) } },
  { label: 'Softplus-22', opset: 22, op: 'Softplus', inputs: [f32([3, 4])] },
];

describe('opset 18-21 forms match onnxruntime on the original node', () => {
  it.each(cases.map((c) => [c.label, c] as const))('%s', async (_label, c) => {
    await expectConversionMatches(c, 2e-5);
  });
});

describe("GroupNormalization's rewrite differentiates", () => {
  // float32 ops between float64 Casts (InstanceNormalization has no float64 kernel); step 2^-10 as in
  // tests/autodiff-rules-norm.test.ts, where the rounding error bound of ~1.5e-4 is worked out.
  for (const [opset, pshape] of [
    [18, [2]],
    [21, [6]],
  ] as const)
    it(`opset ${opset}: x, Scale and B against finite differences`, async () => {
      const res = await gradCheck(
        {
          inputs: [{ name: 'x', shape: [2, 6, 3, 3] }, { name: 'scale', shape: [...pshape] }, { name: 'bias', shape: [...pshape] }],
          eps: 2 ** -10,
          transform: Math.fround,
          opset,
        },
        (b) => {
          const c = ['x', 'scale', 'bias'].map((i) => b.op('Cast', [i], { to: { i: 1 } }));
          return [b.op('Cast', [b.op('GroupNormalization', c, { num_groups: { i: 2 } })], { to: { i: 11 } })];
        },
      );
      expect(res.relError).toBeLessThan(1e-3);
    });
});

describe('the newer elementwise forms differentiate end to end (finite differences)', () => {
  const unary: [string, number, Record<string, AttrValue>][] = [
    ['Gelu', 20, {}],
    ['Gelu', 20, { approximate: str('tanh') }],
    ['Mish', 18, {}],
    ['HardSwish', 22, {}],
    ['HardSigmoid', 22, { alpha: f(0.25), beta: f(0.4) }],
    ['Softplus', 22, {}],
    ['Erf', 13, {}],
  ];
  for (const [op, opset, attrs] of unary)
    it(`${op}-${opset} ${JSON.stringify(attrs)}`, async () => {
      // onnxruntime runs these in float32 only: between float64 Casts, step 2^-10 (exact in float32 here).
      // A random input lands within the step of a kink (HardSwish at +-3, HardSigmoid's clip points) with
      // probability ~1e-3 per value; the seed's inputs do not.
      const res = await gradCheck({ inputs: [{ name: 'x', shape: [3, 7] }], opset, eps: 2 ** -10, transform: (v) => Math.fround(2.5 * v) }, (b) => [
        b.op('Cast', [b.op(op, [b.op('Cast', ['x'], { to: { i: 1 } })], attrs)], { to: { i: 11 } }),
      ]);
      expect(res.relError).toBeLessThan(1e-3);
    });
});
