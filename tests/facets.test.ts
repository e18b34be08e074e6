// Multifaceted visualization: k-means against a brute-force optimum, the layer before the logits, and
// facets end to end on a small classifier: the clusters partition the objective's top images (ranked
// independently), k-means' fixed point holds on embeddings computed independently, and each optimization
// starts from its cluster's image nearest the centre (pixels for pixel methods, the encoded code for
// DGN-AM: with 0 steps the facet is that start).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmeans } from '../src/analysis/kmeans.ts';
import { layerBeforeLogits, multifacetedVisualization, type FacetsRecord } from '../src/analysis/facets.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { loadModel, prepareModel } from '../src/onnx/prepare.ts';
import { saveModel } from '../src/onnx/proto.ts';
import { Session } from '../src/runtime/session.ts';
import { twinPath } from '../src/twins/cache.ts';
import { Rng } from '../src/util/rng.ts';
import { randomWeights } from './helpers/models.ts';
import { scanTestModel, SIDE, writeScanTestModel, writeTestFolder, type TestFolder } from './helpers/scan-fixtures.ts';

let tmp: string;
let modelPath: string;
let folder: TestFolder;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fviz-facets-'));
  modelPath = writeScanTestModel(join(tmp, 'model'));
  folder = await writeTestFolder(join(tmp, 'data'), 40, 7);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function inertiaOf(points: Float64Array, d: number, assignment: ArrayLike<number>, k: number): number {
  const n = points.length / d;
  const centers = new Float64Array(k * d);
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    counts[assignment[i]!]!++;
    for (let j = 0; j < d; j++) centers[assignment[i]! * d + j]! += points[i * d + j]!;
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) centers[c * d + j]! /= Math.max(1, counts[c]!);
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) s += (points[i * d + j]! - centers[assignment[i]! * d + j]!) ** 2;
  return s;
}

describe('kmeans', () => {
  it('finds the optimal partition of 10 points into 3 clusters (checked against all 3^10 assignments), deterministically', () => {
    const rng = new Rng(3);
    const n = 10;
    const d = 2;
    const points = new Float64Array(n * d);
    // Three loose groups that overlap enough for the optimum not to be obvious.
    for (let i = 0; i < n; i++) {
      const g = i % 3;
      points[i * d] = [0, 2, 1][g]! + rng.normal() * 0.7;
      points[i * d + 1] = [0, 0, 1.7][g]! + rng.normal() * 0.7;
    }
    let best = Infinity;
    const a = new Int32Array(n);
    for (let code = 0; code < 3 ** n; code++) {
      let c = code;
      const used = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        a[i] = c % 3;
        used[a[i]!]!++;
        c = Math.floor(c / 3);
      }
      if (used.some((u) => u === 0)) continue;
      best = Math.min(best, inertiaOf(points, d, a, 3));
    }
    const r = kmeans(points, n, d, 3, { seed: 1, restarts: 8 });
    expect(r.inertia).toBeCloseTo(best, 9);
    expect(inertiaOf(points, d, r.assignment, 3)).toBeCloseTo(r.inertia, 9);
    expect(new Set(r.assignment).size).toBe(3);
    expect(kmeans(points, n, d, 3, { seed: 1, restarts: 8 })).toEqual(r);
  });

  it('rejects k above the number of points and non-finite points', () => {
    expect(() => kmeans(new Float64Array(4), 2, 2, 3)).toThrow(/2 points cannot make 3 clusters/);
    expect(() => kmeans(Float64Array.from([0, NaN]), 2, 1, 1)).toThrow(/NaN/);
  });
});

describe('layerBeforeLogits', () => {
  it('walks back from the class scores to the input of the last Gemm', () => {
    const small = prepareModel(scanTestModel(), { batch: 1 });
    expect(layerBeforeLogits(small.graph, 'logits')).toBe('embed');
    const g = loadModel(twinPath('googlenet'), { batch: 1 }).graph;
    const before = layerBeforeLogits(g, 'loss3/classifier')!;
    expect(g.valueTypes.get(before)!.shape).toEqual([1, 1024]);
  });
});

/** The small model's `layer` on every test image (batch 1, straight from the pixels). */
async function perImage(layer: string): Promise<Map<string, Float32Array>> {
  const m = prepareModel(scanTestModel(), { batch: 1 });
  const t = m.graph.valueTypes.get(layer)!;
  m.graph.outputs = [{ name: layer, dtype: 'float32', shape: t.shape }];
  const s = await Session.create(m, { threads: 1 });
  const out = new Map<string, Float32Array>();
  for (const file of folder.files) {
    const px = folder.pixels.get(file)!;
    const x = new Float32Array(3 * SIDE * SIDE);
    for (let p = 0; p < SIDE * SIDE; p++) for (let c = 0; c < 3; c++) x[c * SIDE * SIDE + p] = px[p * 3 + c]! / 255;
    out.set(file, Float32Array.from((await s.run({ data: { dtype: 'float32', dims: [1, 3, SIDE, SIDE], data: x } }))[layer]!.data as Float32Array));
  }
  await s.release();
  return out;
}

async function pngPixels(path: string): Promise<Uint8Array> {
  const { data } = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

describe('multifacetedVisualization', () => {
  it('clusters the top images of the objective and starts each pixel-space optimization from the image nearest its centre', async () => {
    const out = join(tmp, 'pixel');
    const r = await multifacetedVisualization({ model: modelPath, objective: 'class:1', dataset: folder.dir, k: 3, top: 12, method: 'l2', steps: 0, out, batch: 8, threads: 1 });
    const rec = JSON.parse(readFileSync(join(out, 'facets.json'), 'utf8')) as FacetsRecord;
    expect(rec).toEqual(JSON.parse(JSON.stringify(r.record)));
    expect(rec.embedLayer).toBe('embed');
    expect(rec.clusters).toHaveLength(3);

    // The members are exactly the 12 images with the highest class-1 logit.
    const logits = await perImage('logits');
    const ranked = [...logits].sort((a, b) => b[1][1]! - a[1][1]!).map(([f]) => f);
    const members = rec.clusters.flatMap((c) => c.members.map((m) => m.file));
    expect([...members].sort()).toEqual(ranked.slice(0, 12).sort());
    expect(rec.clusters.map((c) => c.size)).toEqual([...rec.clusters.map((c) => c.size)].sort((a, b) => b - a));

    // k-means' fixed point, on independently computed embeddings: each member is nearest its own cluster's mean.
    const emb = await perImage('embed');
    const centres = rec.clusters.map((c) => {
      const m = new Float64Array(5);
      for (const x of c.members) emb.get(x.file)!.forEach((v, j) => (m[j]! += v / c.size));
      return m;
    });
    const d2 = (f: string, c: Float64Array) => emb.get(f)!.reduce((s, v, j) => s + (v - c[j]!) ** 2, 0);
    rec.clusters.forEach((c, i) => {
      for (const m of c.members) {
        expect(m.distance).toBeCloseTo(d2(m.file, centres[i]!), 4);
        for (let j = 0; j < centres.length; j++) expect(d2(m.file, centres[i]!)).toBeLessThanOrEqual(d2(m.file, centres[j]!) + 1e-6);
      }
      expect(c.seed.file).toBe(c.members[0]!.file);
      expect(Math.min(...c.members.map((m) => m.distance))).toBe(c.seed.distance);
    });

    // With 0 steps each facet is its start image, and its objective the seed's logit.
    for (const c of rec.clusters) {
      expect(await pngPixels(join(out, c.result))).toEqual(folder.pixels.get(c.seed.file));
      expect(c.initial).toBeCloseTo(logits.get(c.seed.file)![1]!, 4);
    }
    const sheet = await sharp(join(out, 'facets.png')).metadata();
    expect(sheet.height).toBeGreaterThan(3 * 128);
  });

  it('for DGN-AM starts each facet from the encoded code of its nearest image', async () => {
    // A generator from the 5-unit 'embed' layer to 16 x 16 images: Gemm, Sigmoid, Reshape.
    const rng = new Rng(21);
    const g = emptyGraph('gen');
    const b = new GraphBuilder(g);
    g.inputs.push({ name: 'code', dtype: 'float32', shape: ['N', 5] });
    g.initializers.set('W', randomWeights(rng, [5, 3 * SIDE * SIDE], 1));
    g.initializers.set('shape', { dtype: 'int64', dims: [4], data: BigInt64Array.from([-1n, 3n, BigInt(SIDE), BigInt(SIDE)]) });
    b.node('MatMul', ['code', 'W'], {}, ['lin']);
    b.node('Sigmoid', ['lin'], {}, ['sig']);
    b.node('Reshape', ['sig', 'shape'], {}, ['img']);
    g.outputs = [{ name: 'img', dtype: 'float32', shape: ['N', 3, SIDE, SIDE] }];
    const genDir = join(tmp, 'gen');
    mkdirSync(genDir, { recursive: true });
    saveModel(emptyModel(g), join(genDir, 'gen.onnx'));
    writeFileSync(join(genDir, 'gen.card.json'), JSON.stringify({ name: 'test generator', model: 'gen.onnx', codeSize: 5, output: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] }, toClassifier: 'resize' }));

    const out = join(tmp, 'dgn');
    const r = await multifacetedVisualization({ model: modelPath, generator: join(genDir, 'gen.onnx'), encoder: `${modelPath}:embed`, objective: 'feat:2', dataset: folder.dir, k: 2, top: 8, steps: 0, out, batch: 8, threads: 1 });
    expect(r.record.method).toBe('dgn');
    // A channel objective embeds by its own layer.
    expect(r.record.embedLayer).toBe('feat');
    const emb = await perImage('embed');
    const gen = prepareModel(emptyModel(g), { batch: 1 });
    const s = await Session.create(gen, { threads: 1 });
    for (const c of r.record.clusters) {
      const run = JSON.parse(readFileSync(join(out, c.run, 'run.json'), 'utf8'));
      expect(run.parameters.init).toBe('code');
      const img = (await s.run({ code: { dtype: 'float32', dims: [1, 5], data: emb.get(c.seed.file)! } }))['img']!.data as Float32Array;
      const got = await pngPixels(join(out, c.result));
      let worst = 0;
      for (let p = 0; p < SIDE * SIDE; p++) for (let ch = 0; ch < 3; ch++) worst = Math.max(worst, Math.abs(got[p * 3 + ch]! - img[ch * SIDE * SIDE + p]! * 255));
      expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
    }
    await s.release();
  });

  it('refuses the Fourier parameterization, which cannot start from an image', async () => {
    await expect(multifacetedVisualization({ model: modelPath, objective: 'class:1', dataset: folder.dir, k: 2, method: 'fourier', out: join(tmp, 'f') })).rejects.toThrow(/Fourier parameterization cannot take/);
  });
});
