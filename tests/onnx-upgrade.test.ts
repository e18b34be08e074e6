// upgradeModel: a PyTorch 1.13 export at opset 17 (tests/fixtures/opset-forms, scripts/opset-forms/make_fixture.py)
// rewritten into its opset 18-21 forms computes the same logits under onnxruntime's own kernels for the newer
// ops (Gelu, GroupNormalization, axes inputs), and normalizes back to the same logits and input gradient.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { readModel } from '../src/onnx/proto.ts';
import { upgradeModel } from '../src/onnx/upgrade.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { compileFused } from '../src/autodiff/compile.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { defaultOpset } from '../src/onnx/ir.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { maxAbsDiff, randomInput, runModel, singleOpModel } from './helpers/models.ts';

const fixture = fileURLToPath(new URL('./fixtures/opset-forms/blocks-op17.onnx', import.meta.url));

const EXPECTED: Record<number, Record<string, number>> = {
  18: {
    'GroupNormalization-18': 1,
    'ReduceMean axes input': 1,
    'ReduceMax axes input': 1,
    'Split num_outputs': 1,
    'Pad axes': 1,
    'Resize axes': 1,
  },
};
EXPECTED[19] = EXPECTED[18]!;
EXPECTED[20] = { ...EXPECTED[18]!, Gelu: 1, 'Gelu tanh': 1 };
EXPECTED[21] = { ...EXPECTED[20]!, 'GroupNormalization-21': 1 };
delete EXPECTED[21]['GroupNormalization-18'];

async function gradientOf(model: Model, x: TensorData): Promise<{ logits: Float32Array; grad: Float32Array }> {
  const prepared = prepareModel(model, { batch: x.dims[0] });
  const out = prepared.graph.outputs[0]!.name;
  const prog = compileFused(prepared, { outputs: [out], wrt: ['input'], seedOnes: true });
  const s = await Session.create(prog.model, { threads: 1 });
  const res = await s.run({ input: x });
  await s.release();
  return { logits: res[out]!.data as Float32Array, grad: res[prog.gradNames.get('input')!]!.data as Float32Array };
}

describe('upgradeModel on a PyTorch export', () => {
  const original = readModel(fixture);
  const x = randomInput(new Rng(5), [2, 3, 8, 8]);

  for (const opset of [18, 19, 20, 21])
    it(`opset ${opset}: the newer forms, the same logits in onnxruntime, the same gradient after normalization`, async () => {
      const { model, rewritten } = upgradeModel(original, opset);
      expect(defaultOpset(model)).toBe(opset);
      expect(rewritten).toEqual(EXPECTED[opset]);
      const ops = model.graph.nodes.map((n) => n.opType);
      expect(ops.includes('InstanceNormalization')).toBe(false);
      expect(ops.includes('Erf')).toBe(opset < 20);
      expect(ops.filter((o) => o === 'Gelu').length).toBe(opset >= 20 ? 2 : 0);
      expect(model.graph.nodes.filter((n) => n.opType === 'GroupNormalization').map((n) => n.inputs.slice(1).map((i) => model.graph.initializers.get(i)!.dims))).toEqual([
        opset >= 21 ? [[8], [8]] : [[2], [2]],
      ]);
      const want = (await runModel(original, { input: x }))['logits']!;
      const got = (await runModel(model, { input: x }))['logits']!;
      expect(got.dims).toEqual([2, 5]);
      expect(maxAbsDiff(got, want)).toBeLessThan(2e-5);
      const a = await gradientOf(original, x);
      const b = await gradientOf(model, x);
      expect(maxAbsDiff({ dtype: 'float32', dims: [10], data: b.logits }, { dtype: 'float32', dims: [10], data: a.logits })).toBeLessThan(2e-5);
      const scale = Math.max(...a.grad.map(Math.abs));
      expect(maxAbsDiff({ dtype: 'float32', dims: [a.grad.length], data: b.grad }, { dtype: 'float32', dims: [a.grad.length], data: a.grad }) / scale).toBeLessThan(1e-5);
    });

  it('writes Split num_outputs for an even Split without sizes, and refuses opsets it does not write', async () => {
    const { model, feeds } = singleOpModel(17, 'Split', [{ shape: [2, 6] }], { axis: { i: 1 } }, 3);
    const up = upgradeModel(model, 18);
    expect(up.rewritten).toEqual({ 'Split num_outputs': 1 });
    const want = await runModel(model, feeds);
    const got = await runModel(up.model, feeds);
    for (const k of Object.keys(want)) expect(maxAbsDiff(got[k]!, want[k]!)).toBe(0);
    expect(() => upgradeModel(model, 22)).toThrow('upgrade: opset 22 is not one fviz writes; choose 18-21');
    expect(() => upgradeModel(up.model, 19)).toThrow('upgrade: the model is already at opset 18; give an opset-17 (or older) model');
  });
});
