// The opset-17 cases of the coverage corpus rewritten into their opset 18 and 21 forms (src/onnx/upgrade.ts:
// reductions' axes inputs, Pad axes, Gelu, GroupNormalization, ... as newer exporters write them), held to
// the same rule as the files themselves: value within 1e-5 relative of PyTorch float64, input gradient
// within max(2e-4, 3 x PyTorch float32's error). FVIZ_CORPUS=<regex> runs only the matching cases.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gradientAt } from '../src/optvis/objectives/grad.ts';
import { readModel, saveModel } from '../src/onnx/proto.ts';
import { upgradeModel } from '../src/onnx/upgrade.ts';
import { corpusCases, corpusGrad, corpusInput, gradTolerance, relMaxError, VALUE_TOLERANCE } from './helpers/corpus.ts';

const cases = corpusCases(process.env.FVIZ_CORPUS).filter((c) => c.meta.opset === 17);
const dir = mkdtempSync(join(tmpdir(), 'fviz-corpus-newer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seen: Record<number, Record<string, number>> = { 18: {}, 21: {} };

describe('coverage corpus in its opset 18 and 21 forms', () => {
  for (const c of cases)
    for (const opset of [18, 21])
      it(`${c.name} at opset ${opset}: value and input gradient within the precision rule`, async () => {
        const { model, rewritten } = upgradeModel(readModel(c.model), opset, c.model);
        for (const [form, n] of Object.entries(rewritten)) seen[opset]![form] = (seen[opset]![form] ?? 0) + n;
        const path = join(dir, `${c.name}-op${opset}.onnx`);
        saveModel(model, path);
        const x = corpusInput(c.name);
        const res = await gradientAt(path, x, c.meta.objective, { threads: 1 });
        expect(Math.abs(res.value - c.meta.value), `value ${res.value} vs ${c.meta.value}`).toBeLessThanOrEqual(VALUE_TOLERANCE * Math.abs(c.meta.value));
        const err = relMaxError(res.grad.data as Float32Array, corpusGrad(c.name).data as Float64Array);
        expect(err, `gradient error ${err} (PyTorch float32: ${c.meta.f32GradError})`).toBeLessThanOrEqual(gradTolerance(c.meta));
      });

  it('exercised the newer forms the corpus holds (Gelu, axes inputs, Pad axes)', () => {
    if (process.env.FVIZ_CORPUS) return;
    expect(Object.keys(seen[18]!)).toEqual(expect.arrayContaining(['ReduceMean axes input', 'Pad axes']));
    expect(Object.keys(seen[21]!)).toEqual(expect.arrayContaining(['Gelu', 'ReduceMean axes input', 'Pad axes']));
  });
});
