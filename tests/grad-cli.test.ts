// `fviz grad` and `fviz doctor` on a model laid out as PyTorch exports it (symbolic batch, the Flatten
// done by Shape/Gather/Unsqueeze/Concat/Reshape, BatchNormalization, Gemm), without editing it; the
// gradient is checked against central differences of onnxruntime running the original file.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pytorchCnn } from './helpers/models.ts';
import { saveModel } from '../src/onnx/proto.ts';
import { readNpy, writeNpy } from '../src/runtime/npy.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import type { TensorData } from '../src/onnx/ir.ts';

const repo = join(import.meta.dirname, '..');
const fviz = (args: string[]) => spawnSync('node', [join(repo, 'bin/fviz.js'), ...args], { encoding: 'utf8', cwd: repo });

describe('fviz grad on a PyTorch-style export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fviz-grad-'));
  const modelPath = join(dir, 'net.onnx');
  const model = pytorchCnn();
  saveModel(model, modelPath);
  const input = model.graph.inputs[0]!;
  const outName = model.graph.outputs[0]!.name;

  it('writes d objective / d input that matches central differences of the original model', async () => {
    const shape = [2, ...(input.shape.slice(1) as number[])];
    const n = shape.reduce((a, b) => a * b, 1);
    const rng = new Rng(5);
    const x = new Float32Array(n);
    rng.fillNormal(x);
    const xPath = join(dir, 'x.npy');
    const gPath = join(dir, 'g.npy');
    writeNpy(xPath, { dtype: 'float32', dims: shape, data: x });
    const r = fviz(['grad', '--model', modelPath, '--input', xPath, '--objective', `${outName}:1`, '--out', gPath, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const g = readNpy(gPath);
    expect(g.dims).toEqual(shape);
    // Reference: the original file in onnxruntime, objective = sum over the batch of output[:, 1].
    const s = await Session.create(model);
    const J = async (v: Float32Array) => {
      const out = (await s.run({ [input.name]: { dtype: 'float32', dims: shape, data: v } as TensorData }))[outName]!.data as Float32Array;
      const k = out.length / shape[0]!;
      return out[1]! + out[k + 1]!;
    };
    expect(report.value).toBeCloseTo(await J(x), 4);
    const eps = 1e-2;
    let diff2 = 0;
    let num2 = 0;
    for (let t = 0; t < 24; t++) {
      const k = rng.int(n);
      const xp = x.slice();
      const xm = x.slice();
      xp[k]! += eps;
      xm[k]! -= eps;
      const fd = ((await J(xp)) - (await J(xm))) / (2 * eps);
      diff2 += (fd - (g.data as Float32Array)[k]!) ** 2;
      num2 += fd * fd;
    }
    await s.release();
    expect(Math.sqrt(diff2 / num2)).toBeLessThan(1e-3);
  });

  it('fviz doctor covers every op and its finite-difference check passes', () => {
    const r = fviz(['doctor', modelPath, '--json', '--directions', '3']);
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.missing).toEqual([]);
    expect(rep.check.worstRelError).toBeLessThan(1e-3);
  });

  it('a wrongly shaped input array is one clear line', () => {
    const bad = join(dir, 'bad.npy');
    writeNpy(bad, { dtype: 'float32', dims: [1, 5], data: new Float32Array(5) });
    const r = fviz(['grad', '--model', modelPath, '--input', bad, '--objective', `${outName}:1`]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/input array has shape \[1,5\]/);
  });
});
