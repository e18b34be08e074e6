// The training loop on a tiny model: the loss falls, and an interrupted run resumed from its checkpoint
// ends with exactly the weights, statistics and step of the uninterrupted run (also after a SIGKILL).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/train/checkpoint.ts';
import { trainClassifier, type TrainClassifierOptions, type TrainMeta } from '../src/train/classifier/trainer.ts';
import { writeSyntheticCifar } from './helpers/cifar-synthetic.ts';

let dir: string;
let data: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fviz-train-'));
  data = join(dir, 'cifar');
  writeSyntheticCifar(data, 64); // 320 training images, 64 test images
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = (out: string): TrainClassifierOptions => ({
  data,
  out,
  arch: 'tiny',
  epochs: 3,
  batchSize: 32,
  lr: 0.05,
  warmupEpochs: 0.5,
  threads: 1,
  seed: 3,
});

function sameTensors(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, v] of a) expect(Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b.get(k)!.buffer, b.get(k)!.byteOffset, b.get(k)!.byteLength)), k).toBe(true);
}

describe('training loop', () => {
  let full: Awaited<ReturnType<typeof trainClassifier>>;

  it('the loss falls and the test accuracy rises above chance', async () => {
    full = await trainClassifier(base(join(dir, 'full')));
    const h = full.meta.history;
    expect(h.length).toBe(3);
    expect(full.meta.step).toBe(30);
    expect(h[2]!.trainLoss).toBeLessThan(0.8 * h[0]!.trainLoss);
    expect(h[2]!.test!.accuracy).toBeGreaterThan(0.3);
    expect(existsSync(full.files.model!)).toBe(true);
    expect(existsSync(full.files.card!)).toBe(true);
  });

  it('resume after a stop continues to exactly the same weights', async () => {
    const out = join(dir, 'stopped');
    const first = await trainClassifier({ ...base(out), stopAtStep: 13 });
    expect(first.interrupted).toBe(true);
    expect(first.meta.step).toBe(13);
    await expect(trainClassifier(base(out))).rejects.toThrow(/--resume/);
    const second = await trainClassifier({ ...base(out), resume: true });
    expect(second.interrupted).toBe(false);
    expect(second.meta.step).toBe(30);
    expect(second.meta.history.map((e) => e.trainLoss)).toEqual(full.meta.history.map((e) => e.trainLoss));
    sameTensors(readCheckpoint(join(out, 'last.ckpt')).tensors, readCheckpoint(join(dir, 'full', 'last.ckpt')).tensors);
  });

  it('resume after SIGKILL of the command continues to exactly the same weights', async () => {
    const out = join(dir, 'killed');
    const args = ['bin/fviz.js', 'train', 'classifier', '--data', data, '--out', out, '--arch', 'tiny', '--epochs', '3', '--batch', '32', '--lr', '0.05', '--warmup', '0.5', '--seed', '3', '--threads', '1', '--checkpoint-every', '4'];
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    const ckpt = join(out, 'last.ckpt');
    // Kill as soon as the first mid-epoch checkpoint exists (the run is then somewhere in epoch 1 or 2).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(ckpt)) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(timer);
        if (!existsSync(ckpt)) reject(new Error('the command ended before writing a checkpoint'));
        else resolve();
      });
    });
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.on('exit', r)));
    const at = readCheckpoint<TrainMeta>(ckpt).meta.step;
    expect(at).toBeGreaterThan(0);
    const resumed = await trainClassifier({ ...base(out), resume: true });
    expect(resumed.meta.step).toBe(30);
    sameTensors(readCheckpoint(ckpt).tensors, readCheckpoint(join(dir, 'full', 'last.ckpt')).tensors);
  });

  it('a resumed run may be extended: it continues from its step to the new length', async () => {
    const out = join(dir, 'extended');
    await trainClassifier({ ...base(out), epochs: 2, noEval: true });
    const more = await trainClassifier({ ...base(out), epochs: 3, noEval: true, resume: true });
    expect(more.meta.history.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(more.meta.step).toBe(30);
    expect(more.meta.options.epochs).toBe(3);
    await expect(trainClassifier({ ...base(out), epochs: 1, resume: true })).rejects.toThrow(/cannot shorten the run to 1 epochs/);
  });

  it('refuses to resume with other options', async () => {
    await expect(trainClassifier({ ...base(join(dir, 'full')), resume: true, lr: 0.1 })).rejects.toThrow(/other options \(lr/);
  });
});
