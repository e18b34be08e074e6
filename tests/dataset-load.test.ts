// Dataset loading: the CIFAR-10 binary reader, the packed cache, ImageFolder decoding of real JPEGs from the
// shared archive, batches (normalization, shift, flip) and the (seed, epoch) order.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, decodeCifarRecords, readCifarBinary } from '../src/dataset/cifar-binary.ts';
import { batchesSync, epochOrder, fillBatch } from '../src/dataset/batches.ts';
import { listImageFolder, loadImageFolder } from '../src/dataset/image-folder.ts';
import { readPack, writePack } from '../src/dataset/pack.ts';
import { openDataset } from '../src/dataset/open.ts';
import type { ImageSet } from '../src/dataset/image-set.ts';
import { sharedFile } from '../src/shared-path.ts';
import { Rng } from '../src/util/rng.ts';
import { syntheticRecord, writeSyntheticCifar } from './helpers/cifar-synthetic.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fviz-data-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CIFAR-10 binary format', () => {
  it('decodes label bytes and CHW planes into HWC pixels', () => {
    const recs = [syntheticRecord(7, new Rng(1)), syntheticRecord(2, new Rng(2))];
    const bytes = new Uint8Array(2 * 3073);
    recs.forEach((r, i) => bytes.set(r, i * 3073));
    const set = decodeCifarRecords(bytes, 'mem');
    expect(set.n).toBe(2);
    expect(Array.from(set.labels)).toEqual([7, 2]);
    for (const [i, y, x, c] of [[0, 0, 0, 0], [0, 31, 5, 2], [1, 17, 30, 1], [1, 3, 3, 0]] as const)
      expect(set.pixels[i * 3072 + (y * 32 + x) * 3 + c]).toBe(recs[i]![1 + c * 1024 + y * 32 + x]);
  });

  it('reads the five training batches in order, the test batch, and the class names file', () => {
    const d = join(dir, 'bin');
    writeSyntheticCifar(d, 8);
    const train = readCifarBinary(d, 'train');
    expect(train.n).toBe(40);
    expect(Array.from(train.labels.subarray(0, 3))).toEqual([1, 2, 3]); // batch 1 starts at label offset 1
    expect(Array.from(train.labels.subarray(8, 10))).toEqual([2, 3]); // batch 2 at offset 2
    expect(train.classes).toEqual(CIFAR10_CLASSES);
    writeFileSync(join(d, 'batches.meta.txt'), CIFAR10_CLASSES.map((c) => c.toUpperCase()).join('\n') + '\n\n');
    expect(readCifarBinary(d, 'test').classes[9]).toBe('TRUCK');
  });

  it('rejects a file of the wrong size and labels out of range, naming the file', () => {
    expect(() => decodeCifarRecords(new Uint8Array(3074), 'x.bin')).toThrow(/x\.bin.*multiple of .*3073/);
    const bad = syntheticRecord(3, new Rng(1));
    bad[0] = 12;
    expect(() => decodeCifarRecords(bad, 'y.bin')).toThrow(/y\.bin' record 0 has label 12/);
  });

  it('openDataset recognizes a CIFAR binary folder', async () => {
    const d = join(dir, 'bin2');
    writeSyntheticCifar(d, 4);
    const { set } = await openDataset(d, { split: 'test' });
    expect(set.n).toBe(4);
  });
});

describe('packed cache', () => {
  it('round-trips an image set and detects truncation', () => {
    const rng = new Rng(4);
    const set: ImageSet = {
      n: 3, height: 4, width: 5, channels: 3, classes: ['a', 'b'],
      labels: Uint16Array.from([1, 0, 1]),
      pixels: Uint8Array.from({ length: 3 * 60 }, () => rng.int(256)),
      files: ['b/1.png', 'a/2.png', 'b/3.png'], source: '/x', skipped: ['a/bad.jpg'],
    };
    const p = join(dir, 'set.fvzpack');
    writePack(p, set, 'key1');
    const back = readPack(p);
    expect(back).toEqual(set);
    truncateSync(p, statSync(p).size - 1);
    expect(() => readPack(p)).toThrow(/delete it to rebuild/);
  });
});

describe('ImageFolder', () => {
  it('decodes real CIFAR JPEGs from the shared archive, caches them, and skips unreadable files', async () => {
    const root = join(dir, 'jpg');
    mkdirSync(root);
    execFileSync('tar', ['-xzf', sharedFile('datasets', 'cifar10-jpg.tar.gz'), '-C', root, '--wildcards', 'test/cat/000*.jpg', 'test/ship/000*.jpg']);
    const folder = join(root, 'test');
    writeFileSync(join(folder, 'ship', 'broken.jpg'), 'not an image');
    const listing = listImageFolder(folder);
    expect(listing.classes).toEqual(['cat', 'ship']);
    expect(listing.files.length).toBe(21);
    const packDir = join(dir, 'packs');
    mkdirSync(packDir);
    let progressCalls = 0;
    const set = await loadImageFolder(folder, { packDir, onProgress: () => progressCalls++ });
    expect(progressCalls).toBeGreaterThan(0);
    expect(set.n).toBe(20);
    expect(set.skipped).toEqual([join('ship', 'broken.jpg')]);
    expect(set.files![0]).toBe(join('cat', '0000.jpg'));
    expect(Array.from(set.labels)).toEqual([...new Array(10).fill(0), ...new Array(10).fill(1)]);
    // Pixels equal an independent decode of the same file.
    const ref = await sharp(join(folder, 'ship', '0003.jpg')).removeAlpha().raw().toBuffer();
    const k = set.files!.indexOf(join('ship', '0003.jpg'));
    expect(Buffer.from(set.pixels.subarray(k * 3072, (k + 1) * 3072)).equals(ref)).toBe(true);
    // The second load comes from the pack (no decoding, so no progress), identical.
    expect(readdirSync(packDir).length).toBe(1);
    const again = await loadImageFolder(folder, { packDir, onProgress: () => progressCalls++ });
    const before = progressCalls;
    expect(again).toEqual(set);
    expect(progressCalls).toBe(before);
    // A changed folder makes a new pack.
    rmSync(join(folder, 'cat', '0009.jpg'));
    const fewer = await loadImageFolder(folder, { packDir });
    expect(fewer.n).toBe(19);
    expect(readdirSync(packDir).filter((f) => f.endsWith('.fvzpack')).length).toBe(2);
  });

  it('names a folder without class folders', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    expect(() => listImageFolder(empty)).toThrow(/no class folders/);
  });
});

describe('batches', () => {
  const set: ImageSet = {
    n: 2, height: 3, width: 4, channels: 3, classes: ['a'], labels: Uint16Array.from([0, 0]),
    pixels: Uint8Array.from({ length: 2 * 36 }, (_, i) => (i * 37) % 256), source: 'mem',
  };
  const norm = { mean: [0.5, 0.4, 0.3] as [number, number, number], std: [0.2, 0.25, 0.5] as [number, number, number] };
  const px = (i: number, y: number, x: number, c: number) => set.pixels[i * 36 + (y * 4 + x) * 3 + c]!;

  it('normalizes into N x 3 x H x W, shifts with zero padding and flips', () => {
    const out = new Float32Array(2 * 36);
    fillBatch(set, [1, 0], norm, out, [{ dy: 0, dx: 0, flip: false }, { dy: 1, dx: -2, flip: true }]);
    const at = (k: number, c: number, y: number, x: number) => out[k * 36 + c * 12 + y * 4 + x]!;
    expect(at(0, 2, 1, 3)).toBeCloseTo((px(1, 1, 3, 2) / 255 - 0.3) / 0.5, 5);
    // Image 0 with a flip then a shift: output (y, x) reads source (y + 1, (3 - x) - 2).
    expect(at(1, 1, 0, 0)).toBeCloseTo((px(0, 1, 1, 1) / 255 - 0.4) / 0.25, 5);
    expect(at(1, 0, 1, 1)).toBeCloseTo((px(0, 2, 0, 0) / 255 - 0.5) / 0.2, 5);
    expect(at(1, 0, 1, 2)).toBeCloseTo(-0.5 / 0.2, 5); // shifted in from outside: black
    expect(at(1, 0, 2, 0)).toBeCloseTo(-0.5 / 0.2, 5); // row 3 is outside
  });

  it('orders each epoch by (seed, epoch): a permutation, reproducible, different per epoch', () => {
    const a = epochOrder(1000, 7, 3);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(epochOrder(1000, 7, 3)).toEqual(a);
    expect(epochOrder(1000, 7, 4)).not.toEqual(a);
    expect(epochOrder(1000, 8, 3)).not.toEqual(a);
  });

  it('starts at a given batch and drops the last partial one on request', () => {
    const big: ImageSet = { ...set, n: 5, labels: Uint16Array.from([0, 1, 2, 3, 4]), pixels: new Uint8Array(5 * 36) };
    expect([...batchesSync(big, { batchSize: 2 })].map((b) => b.labels.length)).toEqual([2, 2, 1]);
    expect([...batchesSync(big, { batchSize: 2, dropLast: true, startBatch: 1 })].map((b) => Array.from(b.labels))).toEqual([[2, 3]]);
  });
});
