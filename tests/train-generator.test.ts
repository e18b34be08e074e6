// Generator training on a tiny classifier and synthetic CIFAR: the reconstruction losses fall, an
// interrupted run resumed from its checkpoint ends with exactly the weights of the uninterrupted one, and
// the exported generator.onnx + card + bounds are what DGN-AM and the reconstruction numbers say.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGenerator } from '../src/generator/card.ts';
import { readModel } from '../src/onnx/proto.ts';
import { Session } from '../src/runtime/session.ts';
import { fillBatch, IDENTITY_NORMALIZATION } from '../src/dataset/batches.ts';
import { openDataset } from '../src/dataset/open.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';
import { ReconstructionEval } from '../src/train/generator/eval.ts';
import { GENERATOR_PRESETS } from '../src/train/generator/net.ts';
import { DISCRIMINATOR_PRESETS } from '../src/train/generator/discriminator.ts';
import { loadFrozenClassifier } from '../src/train/generator/step.ts';
import { trainGenerator, type TrainGeneratorOptions } from '../src/train/generator/trainer.ts';
import { TINY_COMPARATOR, writeTinyClassifier, writeTinyData } from './train-generator-fixture.ts';

let dir: string;
let data: string;
let classifier: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fviz-train-gen-'));
  data = writeTinyData(dir, 32); // 160 training images, 32 test images
  classifier = writeTinyClassifier(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = (out: string): TrainGeneratorOptions => ({
  classifier,
  data,
  out,
  arch: 'tiny',
  discriminator: 'tiny',
  comparator: TINY_COMPARATOR,
  epochs: 4,
  batchSize: 16,
  lr: 1e-2,
  schedule: 'constant',
  weights: { pixel: 5, feature: 1, adversarial: 0.05 },
  epochTestLimit: 32,
  dgnCheck: false,
  threads: 1,
  seed: 3,
});

function sameTensors(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, v] of a) expect(Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b.get(k)!.buffer, b.get(k)!.byteOffset, b.get(k)!.byteLength)), k).toBe(true);
}

describe('generator training', () => {
  let full: Awaited<ReturnType<typeof trainGenerator>>;

  it('the pixel and feature losses fall, on the training batches and on the test images', async () => {
    full = await trainGenerator(base(join(dir, 'full')));
    const h = full.meta.history;
    expect(h.length).toBe(4);
    expect(full.meta.step).toBe(40);
    // Epoch means over the training batches, and the errors on the test images after epochs 1 and 4.
    expect(h[3]!.pixel).toBeLessThan(0.9 * h[0]!.pixel);
    expect(h[3]!.feature).toBeLessThan(0.9 * h[0]!.feature);
    expect(h[3]!.test!.mse).toBeLessThan(0.85 * h[0]!.test!.mse);
    expect(h[3]!.test!.feature).toBeLessThan(0.9 * h[0]!.test!.feature);
    // D trained in alternation: updated at least some of the time, and told real from generated better than chance.
    expect(h.some((e) => e.dUpdates > 0)).toBe(true);
    expect((h[3]!.dAccReal + h[3]!.dAccFake) / 2).toBeGreaterThan(0.5);
  });

  it('resume after a stop continues to exactly the same weights and optimizer state', async () => {
    const out = join(dir, 'stopped');
    const first = await trainGenerator({ ...base(out), stopAtStep: 17 });
    expect(first.interrupted).toBe(true);
    expect(first.meta.step).toBe(17);
    await expect(trainGenerator(base(out))).rejects.toThrow(/--resume/);
    await expect(trainGenerator({ ...base(out), resume: true, lr: 3e-3 })).rejects.toThrow(/other options \(lr/);
    const second = await trainGenerator({ ...base(out), resume: true });
    expect(second.interrupted).toBe(false);
    expect(second.meta.step).toBe(40);
    expect(second.meta.history.map((e) => e.loss)).toEqual(full.meta.history.map((e) => e.loss));
    sameTensors(readCheckpoint(join(out, 'last.ckpt')).tensors, readCheckpoint(join(dir, 'full', 'last.ckpt')).tensors);
  });

  it('exports generator.onnx (code -> image in [0,1]) with a card DGN-AM can open, matching the training graph', async () => {
    const out = join(dir, 'full');
    const gen = openGenerator(join(out, 'generator.onnx'));
    expect(gen.card.codeSize).toBe(16);
    expect(gen.card.output).toMatchObject({ channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] });
    expect(gen.card.toClassifier).toBe('center-crop');
    expect(gen.card.dgn).toMatchObject({ steps: 200, l2: 0.99 });
    expect(gen.card['run']).toMatchObject({ finished: true, epochsCompleted: 4 });
    expect((gen.card['classifier'] as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(gen.card.encoder).toBe(`${classifier}:fc6`);
    expect(gen.lower!.every((v) => v === 0)).toBe(true);
    expect(gen.upper!.length).toBe(16);
    const card = JSON.parse(readFileSync(join(out, 'generator.card.json'), 'utf8'));
    expect(card.reconstruction.when).toBe('final');
    expect(card.reconstruction.images).toBe(32);
    expect(existsSync(join(out, 'reconstructions.png'))).toBe(true);

    const model = readModel(gen.modelPath);
    expect(model.graph.inputs.map((i) => i.name)).toEqual(['code']);
    expect(model.graph.outputs.map((o) => o.name)).toEqual(['image']);
    // G(E(x)) through the exported model equals the evaluation graph's reconstruction, and its error is the card's.
    const test = (await openDataset(data, { split: 'test' })).set;
    const cls = loadFrozenClassifier(classifier, 8, { comparator: TINY_COMPARATOR });
    const ev = await ReconstructionEval.create(cls, GENERATOR_PRESETS['tiny']!, DISCRIMINATOR_PRESETS['tiny']!, full.gParams);
    const x = new Float32Array(8 * 3 * 32 * 32);
    fillBatch(test, [0, 1, 2, 3, 4, 5, 6, 7], IDENTITY_NORMALIZATION, x);
    const { fake, code } = await ev.reconstruct(x, 8);
    const whole = await ev.run(test);
    await ev.release();
    expect(whole.mse).toBeCloseTo(card.reconstruction.mse, 4);
    const s = await Session.create(model, { threads: 1 });
    const img = (await s.run({ code: { dtype: 'float32', dims: [8, 16], data: code } }))['image']!;
    await s.release();
    expect(img.dims).toEqual([8, 3, 32, 32]);
    const y = img.data as Float32Array;
    let maxDiff = 0;
    for (let k = 0; k < y.length; k++) maxDiff = Math.max(maxDiff, Math.abs(y[k]! - fake[k]!));
    expect(maxDiff).toBeLessThan(1e-5);
    expect(Math.min(...y)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...y)).toBeLessThanOrEqual(1);
  });

  it('runs from the command line, ending with the DGN-AM class check in the card and its sheet', () => {
    const out = join(dir, 'cli');
    const args = ['bin/fviz.js', 'train', 'generator', '--classifier', classifier, '--data', data, '--out', out, '--arch', 'tiny', '--discriminator', 'tiny', '--comparator', TINY_COMPARATOR,
      '--epochs', '1', '--batch', '16', '--threads', '1', '--epoch-test-limit', '16', '--dgn-steps', '5', '--dgn-start-steps', '0.5,1', '--dgn-bound-multiples', '1.5,3', '--dgn-check-seeds', '2'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/epoch 1\/1 step 10\/10 .*img\/s \| ETA/);
    expect(r.stdout).toMatch(/test reconstruction \(32 images\): mse/);
    const card = JSON.parse(readFileSync(join(out, 'generator.card.json'), 'utf8'));
    // Every start step x bound multiple tried; the card recommends the least saturated of those within the
    // hit margin of the best (then the highest mean p), and the bounds file holds the chosen multiple.
    const grid = card.dgnCheck.grid as { startStep: number; boundMultiple: number; hits: number; meanProb: number; saturated: number }[];
    expect(grid.map((g) => [g.boundMultiple, g.startStep])).toEqual([[1.5, 0.5], [1.5, 1], [3, 0.5], [3, 1]]);
    const maxHits = Math.max(...grid.map((g) => g.hits));
    const best = grid.filter((g) => g.hits >= maxHits - 1).reduce((a, g) => (g.saturated < a.saturated || (g.saturated === a.saturated && g.meanProb > a.meanProb) ? g : a));
    expect(card.dgn).toEqual({ steps: 5, startStep: best.startStep, endStep: 1e-10, l2: 0.99 });
    expect(card.dgnCheck.boundMultiple).toBe(best.boundMultiple);
    expect(card.boundsInfo.multiple).toBe(best.boundMultiple);
    expect(card.dgnCheck.hits).toBe(best.hits);
    const bounds = readFileSync(join(out, 'generator.bounds.txt'), 'utf8').trim().split('\n').map(Number);
    expect(bounds.length).toBe(card.codeSize);
    expect(Math.max(...bounds)).toBeGreaterThan(0);
    // ... the chosen multiple of the observed range, which stays in its own file.
    const range = readFileSync(join(out, 'code-range.txt'), 'utf8').trim().split('\n').map(Number);
    expect(range.length).toBe(card.codeSize);
    for (let k = 0; k < range.length; k++) expect(bounds[k]).toBeCloseTo(best.boundMultiple * range[k]!, 5);
    expect(card.dgnCheck.images).toBe(20);
    expect(card.dgnCheck.classes.map((c: { class: string }) => c.class)).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    // The objective rose for every class: DGN-AM moved the codes towards the logit.
    for (const c of card.dgnCheck.classes) expect(c.logitEnd).toBeGreaterThan(c.logitStart);
    expect(card.training.command).toContain('train generator');
    for (const f of ['dgn-classes.png', 'reconstructions.png', 'generator.bounds.txt', 'history.json']) expect(existsSync(join(out, f)), f).toBe(true);
  });
});
