// DGN-AM end to end on the architecture twins (GoogLeNet at 224, Nguyen's fc6 generator at 256 with the
// real act-range bounds), and its bad-input paths through the CLI.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { visualizeDgn } from '../src/optvis/render/visualize.ts';
import { resolveGenerator } from '../src/models/registry.ts';
import { DgnProgram } from '../src/optvis/param/generator.ts';
import { runDgnAm } from '../src/optvis/render/dgn.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { readModel, saveModel } from '../src/onnx/proto.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { openGenerator } from '../src/generator/card.ts';

const repo = join(import.meta.dirname, '..');

function cli(args: string[]) {
  return spawnSync('node', [join(repo, 'bin/fviz.js'), ...args], { encoding: 'utf8', cwd: repo });
}

describe('DGN-AM on the twins', () => {
  it('raises the objective, respects the bounds, writes frames and run.json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fviz-dgn-'));
    const r = await visualizeDgn({ model: 'twin:googlenet', generator: 'twin:fc6-generator', objective: 'class:945', steps: 8, frames: [0, 4, 8], out, seed: 1 });
    const first = r.history[0]![0]!;
    const last = r.final[0]!;
    expect(last).toBeGreaterThan(first);
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.method).toBe('dgn');
    expect(run.history.length).toBe(9);
    expect(run.models.map((m: { role: string }) => m.role)).toEqual(['classifier', 'generator']);
    for (const f of ['result.png', 'frames/step-00000.png', 'frames/step-00004.png', 'frames/step-00008.png', 'frames/strip.png']) expect(existsSync(join(out, f))).toBe(true);
    // bounds: lower 0, upper from the shared act-range file
    const gen = resolveGenerator('twin:fc6-generator');
    expect(gen.upper?.length).toBe(4096);
    expect(run.details.codeRange.min).toBeGreaterThanOrEqual(0);
    const maxUpper = Math.max(...gen.upper!);
    expect(run.details.codeRange.max).toBeLessThanOrEqual(maxUpper);
  });

  it('gives the same result bytes for the same seed', async () => {
    const a = mkdtempSync(join(tmpdir(), 'fviz-dgn-a-'));
    const b = mkdtempSync(join(tmpdir(), 'fviz-dgn-b-'));
    for (const out of [a, b]) await visualizeDgn({ model: 'twin:googlenet', generator: 'twin:fc6-generator', objective: 'inception_4c/output:3', steps: 3, out, seed: 5 });
    expect(readFileSync(join(a, 'result.png')).equals(readFileSync(join(b, 'result.png')))).toBe(true);
  });
});

/** A tiny generator making `size` x `size` images from a code of `code` units. */
function tinyGenerator(dir: string, size: number, code = 8): string {
  const g = emptyGraph('tiny-gen');
  g.inputs.push({ name: 'code', dtype: 'float32', shape: [1, code] });
  const b = new GraphBuilder(g);
  const w = tensor('float32', [3 * size * size, code], Array.from({ length: 3 * size * size * code }, (_, k) => Math.sin(k)));
  const o = b.op('Gemm', ['code', b.constant(w)], { transB: { i: 1 } });
  const img = b.op('Reshape', [o, b.constant(tensor('int64', [4], [1, 3, size, size]))]);
  g.outputs.push({ name: img, dtype: 'float32', shape: [1, 3, size, size] });
  const path = join(dir, 'gen.onnx');
  saveModel(prepareModel(emptyModel(g)), path);
  return path;
}

describe('DGN-AM bad input', () => {
  it('a generator whose output cannot reach the classifier input fails with one line, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fviz-dgn-bad-'));
    const gen = tinyGenerator(dir, 16);
    const r = cli(['visualize', '--model', 'twin:googlenet', '--generator', gen, '--objective', 'class:1', '--steps', '1', '--out', join(dir, 'o')]);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('fviz:'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toMatch(/16x16 images, smaller than the classifier's 224x224 input.*resize/);
    // and with --to-classifier resize it runs
    const ok = cli(['visualize', '--model', 'twin:googlenet', '--generator', gen, '--to-classifier', 'resize', '--objective', 'class:1', '--steps', '2', '--out', join(dir, 'o')]);
    expect(ok.status).toBe(0);
  });

  it('a bounds file of the wrong length names the file and both counts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fviz-dgn-bounds-'));
    const gen = tinyGenerator(dir, 16);
    writeFileSync(join(dir, 'upper.txt'), '1 2 3');
    writeFileSync(join(dir, 'gen.card.json'), JSON.stringify({ name: 'tiny', model: 'gen.onnx', codeSize: 8, bounds: { lower: 0, upper: 'upper.txt' }, output: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] }, toClassifier: 'resize' }));
    expect(() => openGenerator(gen)).toThrow(/upper\.txt' has 3 numbers but the generator's code has 8 units/);
    const r = cli(['visualize', '--model', 'twin:googlenet', '--generator', gen, '--objective', 'class:1', '--steps', '1', '--out', join(dir, 'o')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^fviz: .*upper\.txt' has 3 numbers/m);
  });

  it('NaN in the code: the step is skipped, said once, and no NaN image is written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fviz-dgn-nan-'));
    const genPath = tinyGenerator(dir, 16);
    const gen = prepareModel(readModel(genPath));
    // A classifier with a NaN weight on one path makes the gradient NaN at every step.
    const g = emptyGraph('nan-cls');
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 3, 16, 16] });
    const b = new GraphBuilder(g);
    const f = b.op('Flatten', ['x'], { axis: { i: 1 } });
    const wv = Array.from({ length: 2 * 768 }, (_, k) => (k === 5 ? NaN : 0.01));
    const y = b.op('Gemm', [f, b.constant(tensor('float32', [2, 768], wv))], { transB: { i: 1 } });
    g.outputs.push({ name: y, dtype: 'float32', shape: [1, 2] });
    const prog = await DgnProgram.create({
      generator: gen,
      classifier: prepareModel(emptyModel(g)),
      generatorCard: { name: 't', model: '', codeSize: 8, output: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] }, toClassifier: 'center-crop' },
      classifierCard: { name: 't', model: '', input: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1], size: [16, 16] } },
      objective: `${y}:0`,
    });
    const warnings: string[] = [];
    const res = await runDgnAm(prog, { steps: 5, startStep: 1, endStep: 0, l2: 0.99, optimizer: 'nguyen', init: 'random', seed: 0, warn: (l) => warnings.push(l) });
    await prog.release();
    expect(warnings.length).toBe(1);
    expect(warnings[0]).toMatch(/NaN/);
    expect(res.nanSkips).toBe(5);
    expect([...res.code].every(Number.isFinite)).toBe(true);
    expect([...(res.image.data as Float32Array)].every(Number.isFinite)).toBe(true);
    // an initial code with NaN is refused outright
    await expect(async () => {
      const p2 = await DgnProgram.create({
        generator: gen,
        classifier: prepareModel(emptyModel(g)),
        generatorCard: { name: 't', model: '', codeSize: 8, output: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] }, toClassifier: 'center-crop' },
        classifierCard: { name: 't', model: '', input: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1], size: [16, 16] } },
        objective: `${y}:0`,
      });
      try {
        await runDgnAm(p2, { steps: 1, startStep: 1, endStep: 0, l2: 1, optimizer: 'nguyen', init: Float32Array.from([NaN, 0, 0, 0, 0, 0, 0, 0]), seed: 0 });
      } finally {
        await p2.release();
      }
    }).rejects.toThrow(/initial code has 1 NaN/);
  });
});
