// The activation scan: its per-channel results against a per-image reference computed independently,
// exact vs reservoir modes, unreadable files, abort + resume from the checkpoint, folder listing.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveClassifier } from '../src/models/registry.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { Session } from '../src/runtime/session.ts';
import { layerProbe, scanActivations, type ScanOptions, type ScanProbe, type ScanResult } from '../src/analysis/scan.ts';
import { folderSource, listImageFiles } from '../src/dataset/stream-source.ts';
import { percentilePoints } from '../src/analysis/scan-stats.ts';
import { readCheckpoint } from '../src/analysis/scan-checkpoint.ts';
import { addBrokenFiles, scanTestModel, SIDE, writeScanTestModel, writeTestFolder, type TestFolder } from './helpers/scan-fixtures.ts';

let tmp: string;
let modelPath: string;
let folder: TestFolder;
const COUNT = 37;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fviz-scan-'));
  modelPath = writeScanTestModel(join(tmp, 'model'));
  folder = await writeTestFolder(join(tmp, 'clean'), COUNT);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Names, values and positions of a scan's channel results, comparable with toEqual. */
function summarize(r: ScanResult, names: readonly string[], pct: number[]) {
  return Array.from({ length: r.channels }, (_, c) => {
    const res = r.stats.result(c, pct);
    const ex = (list: { image: number; value: number; position: number }[]) => list.map((e) => [names[r.stats.sourceIndex[e.image]!], e.value, e.position]);
    return { stats: res.stats, top: ex(res.top), bottom: ex(res.bottom), percentiles: ex(res.percentiles) };
  });
}

async function scan(dir: string, layer: string, extra: Partial<ScanOptions> = {}, batch = 4): Promise<{ r: ScanResult; probe: ScanProbe; names: readonly string[] }> {
  const probe = await layerProbe(resolveClassifier(modelPath), layer, batch);
  const source = folderSource(dir);
  const r = await scanActivations({ source, probe, threads: 1, ...extra });
  return { r, probe, names: source.names };
}

/** Per image, per channel: max over positions and its first argmax, from batch-1 runs of the raw model. */
async function reference(layer: string): Promise<{ file: string; values: number[]; positions: number[] }[]> {
  const m = prepareModel(scanTestModel(), { batch: 1 });
  const t = m.graph.valueTypes.get(layer)!;
  m.graph.outputs = [{ name: layer, dtype: 'float32', shape: t.shape }];
  const s = await Session.create(m, { threads: 1 });
  const out = [];
  for (const file of folder.files) {
    const px = folder.pixels.get(file)!;
    const x = new Float32Array(3 * SIDE * SIDE);
    for (let p = 0; p < SIDE * SIDE; p++) for (let c = 0; c < 3; c++) x[c * SIDE * SIDE + p] = px[p * 3 + c]! / 255;
    const y = (await s.run({ data: { dtype: 'float32', dims: [1, 3, SIDE, SIDE], data: x } }))[layer]!;
    const d = y.data as Float32Array;
    const C = t.shape[1] as number;
    const S = d.length / C;
    const values: number[] = [];
    const positions: number[] = [];
    for (let c = 0; c < C; c++) {
      let best = 0;
      for (let k = 1; k < S; k++) if (d[c * S + k]! > d[c * S + best]!) best = k;
      values.push(d[c * S + best]!);
      positions.push(S > 1 ? best : -1);
    }
    out.push({ file, values, positions });
  }
  await s.release();
  return out;
}

describe('listing a folder', () => {
  it('is recursive, sorted by bytes, skips hidden entries and non-images, matches extensions in any case', () => {
    const d = join(tmp, 'listing');
    mkdirSync(join(d, 'Z', '.hidden'), { recursive: true });
    mkdirSync(join(d, 'a', 'b'), { recursive: true });
    for (const f of ['Z/x.JPG', 'Z/.hidden/y.png', 'a/b/c.webp', 'a/readme.txt', 'a/d.GIF', '.e.png', 'f.jpeg'])
      writeFileSync(join(d, f), '');
    expect(listImageFiles(d)).toEqual(['Z/x.JPG', 'a/b/c.webp', 'a/d.GIF', 'f.jpeg']);
  });
});

describe('scan results', () => {
  it('equal a per-image reference for a spatial layer (max over positions, argmax) and a vector layer', async () => {
    const pct = percentilePoints(5);
    for (const layer of ['feat', 'logits']) {
      const ref = await reference(layer);
      const { r, names } = await scan(folder.dir, layer, { top: 4, bottom: 3 }, 8);
      expect(r.stats.n).toBe(COUNT);
      expect(r.skipped).toEqual([]);
      expect(names).toEqual(folder.files);
      const got = summarize(r, names, pct);
      for (let c = 0; c < r.channels; c++) {
        const col = ref.map((e) => ({ file: e.file, v: e.values[c]!, p: e.positions[c]! }));
        const desc = [...col].sort((a, b) => b.v - a.v);
        const asc = [...col].sort((a, b) => a.v - b.v);
        expect(got[c]!.top.map((e) => e[0])).toEqual(desc.slice(0, 4).map((e) => e.file));
        expect(got[c]!.bottom.map((e) => e[0])).toEqual(asc.slice(0, 3).map((e) => e.file));
        for (const [file, value, pos] of [...got[c]!.top, ...got[c]!.bottom]) {
          const e = col.find((x) => x.file === file)!;
          expect(value as number).toBeCloseTo(e.v, 5);
          expect(pos).toBe(e.p);
        }
        // Percentile q: rank round(q/100 * (n-1)) of the ascending order.
        expect(got[c]!.percentiles.map((e) => e[0])).toEqual(pct.map((q) => asc[Math.round((q / 100) * (COUNT - 1))]!.file));
        const mean = col.reduce((s, e) => s + e.v, 0) / COUNT;
        expect(got[c]!.stats.mean).toBeCloseTo(mean, 5);
        expect(got[c]!.stats.max).toBeCloseTo(desc[0]!.v, 5);
        expect(got[c]!.stats.positive).toBeCloseTo(col.filter((e) => e.v > 0).length / COUNT, 10);
      }
    }
  });

  it('in sketch mode with a reservoir that holds every image equal exact mode; with a small one, top and bottom stay exact', async () => {
    const pct = percentilePoints(10);
    const exact = await scan(folder.dir, 'feat');
    expect(exact.r.stats.o.exact).toBe(true);
    const sketch = await scan(folder.dir, 'feat', { exactLimit: 0, reservoir: 64 });
    expect(sketch.r.stats.o.exact).toBe(false);
    expect(summarize(sketch.r, sketch.names, pct)).toEqual(summarize(exact.r, exact.names, pct));
    const small = await scan(folder.dir, 'feat', { exactLimit: 0, reservoir: 12, seed: 5 });
    const a = summarize(small.r, small.names, pct);
    const b = summarize(exact.r, exact.names, pct);
    for (let c = 0; c < a.length; c++) {
      expect(a[c]!.top).toEqual(b[c]!.top);
      expect(a[c]!.bottom).toEqual(b[c]!.bottom);
      expect(a[c]!.stats).toEqual(b[c]!.stats);
      // Percentile samples come from 12 of 37 images: each lies within the channel's range, in ascending order.
      const v = a[c]!.percentiles.map((e) => e[1] as number);
      expect([...v].sort((x, y) => x - y)).toEqual(v);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(b[c]!.stats.min);
    }
  });
});

describe('input names', () => {
  it("scans a model whose own input is called 'image' (the name of the display input put in front of it)", async () => {
    const other = writeScanTestModel(join(tmp, 'model-image-input'), 11, 'image');
    const pct = percentilePoints(4);
    const probe = await layerProbe(resolveClassifier(other), 'feat', 4);
    const r = await scanActivations({ source: folderSource(folder.dir), probe, threads: 1 });
    const base = await scan(folder.dir, 'feat');
    expect(summarize(r, folder.files, pct)).toEqual(summarize(base.r, base.names, pct));
  });
});

describe('unreadable files', () => {
  it('are skipped and listed, and the results equal the scan without them', async () => {
    const dirty = join(tmp, 'dirty');
    await writeTestFolder(dirty, COUNT);
    const broken = await addBrokenFiles(dirty);
    const pct = percentilePoints(10);
    const clean = await scan(folder.dir, 'feat');
    const withBad = await scan(dirty, 'feat');
    expect(withBad.r.skipped.map((s) => s.file).sort()).toEqual([...broken].sort());
    for (const s of withBad.r.skipped) expect(s.error.length).toBeGreaterThan(0);
    expect(withBad.r.stats.n).toBe(COUNT);
    expect(withBad.r.listed).toBe(COUNT + 3);
    expect(summarize(withBad.r, withBad.names, pct)).toEqual(summarize(clean.r, clean.names, pct));
  });
});

describe('checkpoints', () => {
  for (const mode of ['exact', 'sketch'] as const)
    it(`a scan aborted after some batches and resumed equals an uninterrupted one (${mode})`, async () => {
      const pct = percentilePoints(10);
      const dirty = join(tmp, `resume-${mode}`);
      await writeTestFolder(dirty, COUNT);
      await addBrokenFiles(dirty);
      const extra: Partial<ScanOptions> = mode === 'sketch' ? { exactLimit: 0, reservoir: 10, seed: 2 } : {};
      const whole = await scan(dirty, 'feat', extra, 3);
      const ckpt = join(tmp, `resume-${mode}.ckpt`);
      const ac = new AbortController();
      await expect(
        scan(dirty, 'feat', { ...extra, checkpoint: ckpt, checkpointEvery: 2, signal: ac.signal, onProgress: (p) => p.batches === 7 && ac.abort() }, 3),
      ).rejects.toThrow();
      const saved = readCheckpoint(ckpt)!;
      expect(saved.header.batches).toBe(6);
      expect(saved.header.done).toBe(false);
      let firstProgress = -1;
      const resumed = await scan(dirty, 'feat', { ...extra, checkpoint: ckpt, checkpointEvery: 2, onProgress: (p) => firstProgress < 0 && (firstProgress = p.start) }, 3);
      expect(resumed.r.resumed).toEqual({ images: 18, batches: 6, done: false });
      expect(firstProgress).toBe(saved.header.next);
      expect(summarize(resumed.r, resumed.names, pct)).toEqual(summarize(whole.r, whole.names, pct));
      // (sharp's message for the same broken file can differ between runs; the files may not)
      expect(resumed.r.skipped.map((s) => s.file)).toEqual(whole.r.skipped.map((s) => s.file));
      expect(readCheckpoint(ckpt)!.header.done).toBe(true);
      // A finished checkpoint is reused without scanning; a different scan (other layer) ignores it.
      const again = await scan(dirty, 'feat', { ...extra, checkpoint: ckpt }, 3);
      expect(again.r.resumed?.done).toBe(true);
      expect(summarize(again.r, again.names, pct)).toEqual(summarize(whole.r, whole.names, pct));
      const warnings: string[] = [];
      const other = await scan(dirty, 'act1', { ...extra, checkpoint: ckpt, warn: (l) => warnings.push(l) }, 3);
      expect(other.r.resumed).toBeUndefined();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/state of a different scan/);
      expect(existsSync(ckpt)).toBe(true);
    });
});
