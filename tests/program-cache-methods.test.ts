// The program cache beyond DGN-AM: pixel-space methods, PPGN, `fviz grad` and `fviz doctor` store their compiled
// programs; the second run loads them (no compilation) and gives the same bytes as the first.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPrograms, programKey, resetProgramCacheWarnings } from '../src/runtime/program-cache.ts';
import { visualizePixel } from '../src/optvis/render/visualize.ts';
import { visualizePpgn } from '../src/optvis/render/visualize-ppgn.ts';
import { pixelNetwork } from '../src/optvis/render/pixel.ts';
import { gradientAt } from '../src/optvis/objectives/grad.ts';
import { doctor } from '../src/optvis/objectives/doctor.ts';
import { resolveClassifier } from '../src/models/registry.ts';
import { DISPLAY_INPUT } from '../src/classifier/card.ts';
import { loadPrepared } from '../src/optvis/render/visualize.ts';
import { saveModel } from '../src/onnx/proto.ts';
import { pytorchCnn } from './helpers/models.ts';
import { Rng } from '../src/util/rng.ts';

const saved = process.env['FVIZ_CACHE'];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fviz-cache-methods-'));
  process.env['FVIZ_CACHE'] = dir;
  resetProgramCacheWarnings();
});
afterEach(() => {
  if (saved === undefined) delete process.env['FVIZ_CACHE'];
  else process.env['FVIZ_CACHE'] = saved;
});

describe('program cache for pixel, grad and doctor programs', () => {
  it('a pixel network is stored, then loaded without making the model, and runs the same', async () => {
    const cls = resolveClassifier(undefined);
    let made = 0;
    const make = () => {
      made++;
      return loadPrepared(cls.modelPath, 1, cls.card.input.size);
    };
    const key = programKey({ test: 'pixel-network' });
    const opts = { classifier: make, card: cls.card, objective: 'class:cat', names: { labels: cls.labels }, threads: 1, cacheKey: key };
    const x = { dtype: 'float32' as const, dims: [1, 3, 32, 32], data: new Float32Array(3 * 32 * 32) };
    new Rng(3).fillUniform(x.data, 0, 1);
    const first = await pixelNetwork(opts);
    const a = await first.run({ [DISPLAY_INPUT]: x });
    await first.release();
    const second = await pixelNetwork(opts);
    const b = await second.run({ [DISPLAY_INPUT]: x });
    await second.release();
    expect([first.via, second.via]).toEqual(['stored', 'hit']);
    expect(made, 'the hit made no model').toBe(1);
    expect(second.terms).toEqual(first.terms);
    expect(b.value).toBe(a.value);
    expect(Buffer.from((b.grads.get(DISPLAY_INPUT)!.data as Float32Array).buffer)).toEqual(Buffer.from((a.grads.get(DISPLAY_INPUT)!.data as Float32Array).buffer));
  });

  it('visualize with a pixel method: one entry, the same image bytes warm as cold', async () => {
    const run = (out: string) => visualizePixel({ objective: 'class:cat', method: 'l2', out: join(dir, out), options: { steps: 4, seed: 2 }, threads: 1 });
    const cold = await run('cold');
    const warm = await run('warm');
    expect(listPrograms(dir).map((e) => e.label)).toEqual([expect.stringMatching(/^l2 class:cat on classifier\.onnx, batch 1$/)]);
    expect(warm.history).toEqual(cold.history);
    expect(readFileSync(join(dir, 'warm', 'result.png')).equals(readFileSync(join(dir, 'cold', 'result.png')))).toBe(true);
  });

  it('PPGN: one entry, the code layer kept with it, the same samples warm as cold', async () => {
    const run = (out: string) => visualizePpgn({ generator: 'embedded', objective: 'class:cat', out: join(dir, out), steps: 3, seed: 1, threads: 1 });
    const cold = await run('cold');
    const warm = await run('warm');
    expect(listPrograms(dir).map((e) => e.label)).toEqual([expect.stringMatching(/^ppgn class:cat on classifier\.onnx through generator\.onnx, batch 1$/)]);
    expect(warm.history).toEqual(cold.history);
    expect(readFileSync(join(dir, 'warm', 'result.png')).equals(readFileSync(join(dir, 'cold', 'result.png')))).toBe(true);
  });

  it('grad and doctor store their programs and repeat their numbers', async () => {
    const model = pytorchCnn();
    const path = join(dir, 'net.onnx');
    saveModel(model, path);
    const input = model.graph.inputs[0]!;
    const shape = [2, ...(input.shape.slice(1) as number[])];
    const x = new Float32Array(shape.reduce((p, d) => p * d, 1));
    new Rng(5).fillNormal(x);
    const objective = `${model.graph.outputs[0]!.name}:1`;
    const g1 = await gradientAt(path, { dtype: 'float32', dims: shape, data: x }, objective, { threads: 1 });
    const g2 = await gradientAt(path, { dtype: 'float32', dims: shape, data: x }, objective, { threads: 1 });
    expect(g2.value).toBe(g1.value);
    expect(Array.from(g2.grad.data as Float32Array)).toEqual(Array.from(g1.grad.data as Float32Array));
    const d1 = await doctor(path, { objective, directions: 2, threads: 1 });
    const d2 = await doctor(path, { objective, directions: 2, threads: 1 });
    expect(d2.check).toEqual(d1.check);
    const labels = listPrograms(dir).map((e) => e.label);
    expect(labels).toHaveLength(2);
    expect(labels.some((l) => l.startsWith(`grad ${objective} on net.onnx`))).toBe(true);
    expect(labels.some((l) => l.startsWith(`doctor ${objective} on net.onnx`))).toBe(true);
  });
});
