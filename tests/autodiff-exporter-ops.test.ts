// A PyTorch 1.13 export at opset 17 through Mish, HardSwish, Softplus, HardSigmoid, Erf, torch.roll (Slice +
// Concat), two Einsums (relative-position attention), CumSum, Where, slice assignment (ScatterND), Sqrt,
// Reciprocal and Neg (scripts/opset-forms/make_exporter_ops.py): fviz's value and input gradient against
// PyTorch's float64 ones, at an input free of near-ties, as the file is and in its opset 18 and 21 forms.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gradientAt } from '../src/optvis/objectives/grad.ts';
import { readNpy } from '../src/runtime/npy.ts';
import { readModel, saveModel } from '../src/onnx/proto.ts';
import { upgradeModel } from '../src/onnx/upgrade.ts';
import { toFloat64 } from '../src/onnx/tensor.ts';

const base = fileURLToPath(new URL('./fixtures/opset-forms/exporter-ops-op17', import.meta.url));
const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { objective: string; value: number; f32GradError: number };

async function check(path: string) {
  const x = readNpy(`${base}.input.npy`);
  const ref = toFloat64(readNpy(`${base}.grad.npy`));
  const r = await gradientAt(path, x, meta.objective, { threads: 1 });
  expect(Math.abs(r.value - meta.value) / Math.abs(meta.value)).toBeLessThan(1e-5);
  const g = toFloat64(r.grad);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < g.length; i++) {
    err = Math.max(err, Math.abs(g[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  expect(err / scale).toBeLessThanOrEqual(Math.max(2e-4, 3 * meta.f32GradError));
}

describe('ops exporters write, against PyTorch float64', () => {
  it('opset 17 as exported', async () => {
    const ops = new Set(readModel(`${base}.onnx`).graph.nodes.map((n) => n.opType));
    for (const op of ['Einsum', 'ScatterND', 'CumSum', 'Where', 'HardSwish', 'Softplus', 'HardSigmoid', 'Erf']) expect(ops).toContain(op);
    await check(`${base}.onnx`);
  });

  for (const opset of [18, 21])
    it(`opset ${opset} form`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fviz-exporter-ops-'));
      try {
        const path = join(dir, `op${opset}.onnx`);
        saveModel(upgradeModel(readModel(`${base}.onnx`), opset).model, path);
        await check(path);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
