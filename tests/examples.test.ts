// fviz examples: the files it writes (index.json, a sheet per channel, run.json), what the index holds,
// the CLI's one-line errors, and on the embedded classifier: the top-9 CIFAR-10 test images of each class
// logit are images of that class.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetExamples, type ExamplesIndex } from '../src/analysis/examples.ts';
import { EMBEDDED_DIR } from '../src/models/registry.ts';
import { addBrokenFiles, SIDE, writeScanTestModel, writeTestFolder } from './helpers/scan-fixtures.ts';

let tmp: string;
let modelPath: string;
let data: string;
let broken: string[];
let spatialSheetHeight = 0;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fviz-examples-'));
  modelPath = writeScanTestModel(join(tmp, 'model'));
  data = join(tmp, 'data');
  await writeTestFolder(data, 30);
  broken = await addBrokenFiles(data);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('datasetExamples', () => {
  it('writes index.json, a labelled sheet per channel and run.json; the index names files, values, positions and crops', async () => {
    const out = join(tmp, 'out');
    const r = await datasetExamples({ model: modelPath, layer: 'feat', dataset: data, out, top: 4, bottom: 3, percentiles: 5, batch: 4, threads: 1 });
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as ExamplesIndex;
    expect(index).toEqual(JSON.parse(JSON.stringify(r.index)));
    expect(index.tensor).toBe('feat');
    expect(index.shape).toEqual([5, 6, 6]);
    expect(index.mode).toEqual({ kind: 'exact' });
    // conv 3x3 pad 1 (3), max-pool 2/2 (4, stride 2, centre 0.5), conv 3x3 (4 + 2 * 2 = 8, centre 0.5 + 2).
    expect(index.receptiveField).toEqual({ size: [8, 8], stride: [2, 2], start: [2.5, 2.5] });
    expect(index.dataset.images).toBe(30);
    expect(index.skipped.count).toBe(3);
    expect(index.skipped.files.map((f) => f.file).sort()).toEqual([...broken].sort());
    expect(index.percentiles).toEqual([10, 30, 50, 70, 90]);
    expect(index.channels).toHaveLength(5);
    for (const ch of index.channels) {
      expect(ch.sheet).toBe(`channels/${String(ch.channel).padStart(4, '0')}.png`);
      expect(ch.top).toHaveLength(4);
      expect(ch.bottom).toHaveLength(3);
      expect(ch.percentiles.map((e) => e.percentile)).toEqual(index.percentiles);
      const v = (l: { value: number | null }[]) => l.map((e) => e.value!);
      expect(v(ch.top)).toEqual([...v(ch.top)].sort((a, b) => b - a));
      expect(v(ch.bottom)).toEqual([...v(ch.bottom)].sort((a, b) => a - b));
      expect(ch.top[0]!.value).toBe(ch.stats.max);
      expect(ch.bottom[0]!.value).toBe(ch.stats.min);
      for (const e of [...ch.top, ...ch.bottom, ...ch.percentiles]) {
        expect(existsSync(join(index.dataset.root!, e.file))).toBe(true);
        expect(['a', 'b']).toContain(e.class);
        expect(e.class).toBe(e.file.split('/')[0]);
        const [y, x] = e.position!;
        // The crop is the receptive field of the maximum, clipped: input rows 2y-1 .. 2y+6.
        expect(e.crop).toEqual([Math.max(0, 2 * y - 1), Math.max(0, 2 * x - 1), Math.min(SIDE, 2 * y + 7), Math.min(SIDE, 2 * x + 7)]);
      }
      const meta = await sharp(join(out, ch.sheet!)).metadata();
      expect(meta.format).toBe('png');
      // 4 rows (top, crops, percentiles, bottom) of 16 px images shown at 128 px.
      expect(meta.height).toBeGreaterThan(4 * 128);
      spatialSheetHeight = meta.height!;
    }
    const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(run.command).toBe('examples');
    expect(run.skipped).toBe(3);
    expect(run.models[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.timings.imagesPerSecond).toBeGreaterThan(0);
    expect(existsSync(join(out, 'scan.ckpt'))).toBe(false);
  });

  it('draws only the asked sheets for a vector layer, without a crop row, and resolves logits to the class scores', async () => {
    const out = join(tmp, 'out-logits');
    const r = await datasetExamples({ model: modelPath, layer: 'logits', dataset: data, out, channels: [1], batch: 5, threads: 1 });
    expect(r.index.tensor).toBe('logits');
    expect(r.index.receptiveField).toBeNull();
    expect(r.index.channels.map((c) => c.sheet)).toEqual([null, 'channels/0001.png', null]);
    expect(readdirSync(join(out, 'channels'))).toEqual(['0001.png']);
    expect(r.index.channels[1]!.top[0]!.position).toBeUndefined();
    // One row fewer than the spatial layer's sheets: no receptive-field crops.
    const meta = await sharp(join(out, 'channels', '0001.png')).metadata();
    expect(spatialSheetHeight - meta.height!).toBeGreaterThan(128);
  });
});

describe('fviz examples (CLI)', () => {
  it('names the nearest tensors for an unknown layer, in one line, exit code 2', () => {
    const r = spawnSync(process.execPath, ['bin/fviz.js', 'examples', '--model', modelPath, '--layer', 'fet', '--dataset', data, '--out', join(tmp, 'x')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown tensor 'fet'; nearest names: feat/);
  });
});

const EMBEDDED = process.env['FVIZ_EMBEDDED_CLASSIFIER'] ?? join(EMBEDDED_DIR, 'classifier.onnx');

// Runs on whatever embedded classifier is committed, interim snapshots included: the criterion does not
// depend on the final accuracy (the epoch-3 snapshot at 69% gives 9 of 9 for every class).
describe.skipIf(!existsSync(EMBEDDED))('embedded classifier on the CIFAR-10 test split', () => {
  it('the top-9 images of each class logit are at least 7 of 9 images of that class', async () => {
    const r = await datasetExamples({ model: EMBEDDED, layer: 'logits', dataset: 'cifar10', out: join(tmp, 'embedded'), top: 9, bottom: 0, percentiles: 0, channels: [], batch: 100 });
    expect(r.index.dataset.images).toBe(10000);
    const labels = JSON.parse(readFileSync(join(tmp, 'embedded', 'index.json'), 'utf8')) as ExamplesIndex;
    const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
    const hits = labels.channels.map((ch) => ch.top.filter((e) => e.class === classes[ch.channel]).length);
    console.log(`top-9 of each class logit that are of that class: ${hits.join(', ')} (${(r.scan.timings.imagesPerSecond).toFixed(0)} images/s)`);
    for (const h of hits) expect(h).toBeGreaterThanOrEqual(7);
  }, 180_000);
});
