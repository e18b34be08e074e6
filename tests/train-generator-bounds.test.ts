// Code bounds for DGN-AM (Nguyen: lower 0, upper 3 x the observed range of each unit): on known codes, through
// the bounds file a generator card names, and the dataset scan against codes from the independent encoder.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillBatch, IDENTITY_NORMALIZATION } from '../src/dataset/batches.ts';
import { openDataset } from '../src/dataset/open.ts';
import { subset } from '../src/dataset/image-set.ts';
import { encodeImages } from '../src/optvis/param/encode.ts';
import { loadBounds, type GeneratorCard } from '../src/generator/card.ts';
import { codeBounds, CodeRange, readBoundsFile, writeBoundsFile } from '../src/train/generator/bounds.ts';
import { scanCodeRange } from '../src/train/generator/eval.ts';
import { loadFrozenClassifier } from '../src/train/generator/step.ts';
import { TINY_COMPARATOR, writeTinyClassifier, writeTinyData } from './train-generator-fixture.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fviz-gen-bounds-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('code bounds', () => {
  it('lower 0 and upper 3 x the observed range per unit; a never-active unit gets 0', () => {
    const r = new CodeRange(4);
    r.add(Float32Array.from([0, 1, 2, 0, 0, 3, 0.5, 0]));
    r.add(Float32Array.from([0, 2, 1, 0]));
    expect(r.count).toBe(3);
    const b = codeBounds(r);
    expect([...b.lower]).toEqual([0, 0, 0, 0]);
    expect([...b.upper]).toEqual([0, 9, 6, 0]);
    expect([...codeBounds(r, 2).upper]).toEqual([0, 6, 4, 0]);
  });

  it('the range of a unit that goes negative is max - min', () => {
    const r = new CodeRange(2);
    r.add(Float32Array.from([-1, 0.5, 2, 0.25]));
    expect([...codeBounds(r).upper]).toEqual([9, 1.5]);
  });

  it('counts only the real rows of a padded batch, and refuses NaN codes or no codes', () => {
    const r = new CodeRange(2);
    r.add(Float32Array.from([1, 1, 100, 100]), 1);
    expect([...r.max]).toEqual([1, 1]);
    expect(() => r.add(Float32Array.from([NaN, 0]))).toThrow(/NaN/);
    expect(() => codeBounds(new CodeRange(3))).toThrow(/at least one code/);
  });

  it('the bounds file round-trips exactly and is what a generator card loads', () => {
    const upper = Float32Array.from([0, 1 / 3, 7.123456789, 1e-7, 12345.678]);
    const file = join(dir, 'g.bounds.txt');
    writeBoundsFile(file, upper);
    expect([...readBoundsFile(file)]).toEqual([...upper]);
    const card = { name: 'g', model: 'g.onnx', codeSize: 5, bounds: { lower: 0, upper: 'g.bounds.txt' } } as GeneratorCard;
    const loaded = loadBounds(card, dir);
    expect([...loaded.upper!]).toEqual([...upper]);
    expect([...loaded.lower!]).toEqual([0, 0, 0, 0, 0]);
    writeFileSync(join(dir, 'short.txt'), '1\n2\n');
    expect(() => loadBounds({ ...card, bounds: { lower: 0, upper: 'short.txt' } }, dir)).toThrow(/2 numbers but the generator's code has 5/);
  });

  it("the dataset scan (padded batches) equals the maxima of the encoder's codes image by image", async () => {
    const classifier = writeTinyClassifier(dir);
    const data = writeTinyData(dir, 40);
    const test = (await openDataset(data, { split: 'test' })).set;
    const set = subset(test, Array.from({ length: 37 }, (_, i) => i));
    const cls = loadFrozenClassifier(classifier, 16, { comparator: TINY_COMPARATOR });
    const range = await scanCodeRange(cls, set, { threads: 1 });
    expect(range.count).toBe(37);
    const x = new Float32Array(37 * 3 * 32 * 32);
    fillBatch(set, Array.from({ length: 37 }, (_, i) => i), IDENTITY_NORMALIZATION, x);
    const codes = await encodeImages(`${classifier}:fc6`, { dtype: 'float32', dims: [37, 3, 32, 32], data: x }, { threads: 1 });
    const K = cls.codeSize;
    for (let k = 0; k < K; k++) {
      let max = -Infinity;
      for (let i = 0; i < 37; i++) max = Math.max(max, codes[i * K + k]!);
      expect(range.max[k]).toBeCloseTo(max, 5);
    }
    expect(Math.min(...range.min)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...range.max)).toBeGreaterThan(0);
  });
});
