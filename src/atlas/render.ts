// Batched rendering: one shard (up to `batch` units of one layer, one method, one seed) is one compiled
// program whose batch item k maximizes unit k (the objective's terms are batch-indexed: channel(L, u_k)
// .batch(k)), so every optimization step is one onnxruntime run for the whole shard. Each item's image,
// its progression and its metrics are written under its content-addressed key, each file under a
// temporary name and renamed; the shard's manifest is written last and marks it finished.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Classifier } from '../classifier/card.ts';
import type { Generator } from '../generator/card.ts';
import { asNchw, type Nchw } from '../image/nchw.ts';
import { channel, type Objective } from '../optvis/objectives/api.ts';
import { DgnProgram } from '../optvis/param/generator.ts';
import { runDgnAm } from '../optvis/render/dgn.ts';
import { pixelNetwork, pixelOptions, runPixel } from '../optvis/render/pixel.ts';
import type { ObjectiveGradient } from '../optvis/objectives/gradient.ts';
import { loadPrepared } from '../optvis/render/visualize.ts';
import { encodePng, encodePngRgb, toRgbBytes } from '../render/image.ts';
import { imageMetrics, type ImageMetrics } from '../render/metrics.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { atlasPaths, writeFileAtomic } from './paths.ts';
import { renderIdentity, unitKey, type AtlasSettings, type RenderShard } from './plan.ts';

/** What one process needs to render shards: the resolved models of the plan. */
export interface RenderContext extends SessionOptions {
  classifier: Classifier;
  generator?: Generator;
}

export interface UnitRender {
  unit: number;
  key: string;
  image: string;
  progression: string;
  /** Objective of the starting image and of the result. */
  initial: number;
  final: number;
  metrics: ImageMetrics;
}

export interface ShardManifest {
  shard: string;
  layer: string;
  method: string;
  seed: number;
  /** Steps of the progression's frames, left to right. */
  frames: number[];
  units: UnitRender[];
}

/** The progression's steps: start, quarters, end. */
export function progressionSteps(steps: number): number[] {
  return [...new Set([0, Math.round(steps / 4), Math.round(steps / 2), Math.round((3 * steps) / 4), steps])];
}

/** The objective of a shard: item k maximizes channel units[k] of the tensor. */
export function shardObjective(tensor: string, units: readonly number[]): Objective {
  let o = channel(tensor, units[0]!).batch(0);
  for (let k = 1; k < units.length; k++) o = o.plus(channel(tensor, units[k]!).batch(k));
  return o;
}

interface Rendered {
  image: Nchw;
  frames: Map<number, Nchw>;
  initial: number[];
  final: number[];
}

type ShardProgram = ObjectiveGradient | DgnProgram;

/**
 * The program of this thread's last shard, kept warm: a shard of the same models, layer and batch (and, for
 * the pixel methods, any of them: they share the classifier's program) retargets its objective masks to its
 * own units instead of compiling, as long as they fall on the same branches. One per thread, so memory stays
 * that of one program; lanes are threads.
 */
let warm: { key: string; program: ShardProgram; busy: boolean } | undefined;
/** Programs this thread compiled for shards, and shards that ran on a retargeted warm one. */
export const programUse = { compiled: 0, retargeted: 0 };

function fileStamp(path: string): string {
  const st = statSync(path);
  return `${path}:${st.size}:${st.mtimeMs}`;
}

/** Runs `use` with the warm program retargeted to `objective`, else with a new one, kept warm in its place. */
async function withProgram<P extends ShardProgram, R>(key: string, objective: Objective, make: () => Promise<P>, use: (p: P) => Promise<R>): Promise<R> {
  const w = warm;
  if (w?.busy) {
    // Another shard on this thread holds it (the atlas renders one shard per thread at a time): a program of its own.
    const own = await make();
    programUse.compiled++;
    try {
      return await use(own);
    } finally {
      await own.release();
    }
  }
  let held = w;
  if (held && held.key === key && held.program.retarget(objective)) programUse.retargeted++;
  else {
    await releaseWarmProgram();
    held = { key, program: await make(), busy: false };
    programUse.compiled++;
    warm = held;
  }
  held.busy = true;
  try {
    return await use(held.program as P);
  } finally {
    held.busy = false;
  }
}

/** Releases the program kept for the next shard (at the end of a run). */
export async function releaseWarmProgram(): Promise<void> {
  const w = warm;
  if (!w || w.busy) return;
  warm = undefined;
  await w.program.release();
}

/** Runs one shard's optimization: one program, batch = the shard's units. */
export async function renderBatch(ctx: RenderContext, s: AtlasSettings, shard: RenderShard): Promise<Rendered> {
  const layer = s.layers.find((l) => l.name === shard.layer)!;
  const B = shard.units.length;
  const objective = shardObjective(layer.tensor, shard.units);
  const frames = progressionSteps(s.steps);
  const cls = ctx.classifier;
  const names = { labels: cls.labels, preSoftmax: cls.card.preSoftmax, aliases: cls.card.aliases };
  const session = { device: ctx.device, threads: ctx.threads };
  const key = (kind: string, gen?: Generator) => JSON.stringify([kind, fileStamp(cls.modelPath), gen && fileStamp(gen.modelPath), B, layer.tensor, session]);
  if (shard.method === 'dgn') {
    const gen = ctx.generator!;
    const r = await withProgram(key('dgn', gen), objective, () =>
      DgnProgram.create({
        generator: loadPrepared(gen.modelPath, B),
        classifier: loadPrepared(cls.modelPath, B, cls.card.input.size),
        generatorCard: gen.card,
        classifierCard: cls.card,
        objective,
        names,
        masksAsInputs: true,
        ...session,
      }),
    (program) => {
      const rec = gen.card.dgn ?? {};
      return runDgnAm(program, {
        steps: s.steps,
        startStep: rec.startStep ?? 2,
        endStep: rec.endStep ?? 1e-10,
        l2: rec.l2 ?? 0.99,
        optimizer: 'nguyen',
        init: 'random',
        seed: shard.seed,
        lower: gen.lower,
        upper: gen.upper,
        frames,
      });
    });
    return { image: asNchw(r.image), frames: new Map([...r.frames].map(([k, v]) => [k, asNchw(v)])), initial: r.history[0] ?? [], final: r.final };
  }
  const size = cls.card.input.size;
  const o = pixelOptions(shard.method, { steps: s.steps, seed: shard.seed, batch: B, frames });
  const make = () => pixelNetwork({ classifier: loadPrepared(cls.modelPath, B, size), card: cls.card, objective, names, masksAsInputs: true, ...session });
  const r = await withProgram(key('pixel'), objective, make, (net) => runPixel(net, size, o, session));
  return { image: r.image, frames: r.frames, initial: r.history[0] ?? [], final: r.final };
}

/** Item k's frames side by side (no text: the page labels the steps), as PNG bytes. */
async function progressionPng(frames: Map<number, Nchw>, k: number): Promise<Buffer> {
  const list = [...frames].sort((a, b) => a[0] - b[0]).map(([, img]) => img);
  const [, , h, w] = list[0]!.dims;
  const gap = 1;
  const W = list.length * w + (list.length - 1) * gap;
  const out = new Uint8Array(h * W * 3).fill(255);
  list.forEach((img, f) => {
    const rgb = toRgbBytes(img, k);
    for (let y = 0; y < h; y++) out.set(rgb.subarray(y * w * 3, (y + 1) * w * 3), (y * W + f * (w + gap)) * 3);
  });
  return encodePngRgb(out, h, W);
}

const round = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(6)) : null);

/** Renders a shard into `dir` (skipped when its manifest exists); returns its manifest and whether it rendered. */
export async function renderShard(ctx: RenderContext, dir: string, s: AtlasSettings, shard: RenderShard): Promise<{ manifest: ShardManifest; rendered: boolean; ms: number }> {
  const t0 = performance.now();
  const manifestPath = atlasPaths.shardManifest(dir, shard.key);
  if (existsSync(manifestPath)) return { manifest: JSON.parse(readFileSync(manifestPath, 'utf8')) as ShardManifest, rendered: false, ms: 0 };
  const r = await renderBatch(ctx, s, shard);
  const id = renderIdentity(s, shard);
  const units: UnitRender[] = [];
  for (const [k, unit] of shard.units.entries()) {
    const key = unitKey(id, unit);
    const image = atlasPaths.render(key);
    const progression = atlasPaths.progression(key);
    writeFileAtomic(dir, image, await encodePng(r.image, k));
    writeFileAtomic(dir, progression, await progressionPng(r.frames, k));
    const m = imageMetrics(r.image, k);
    const metrics = Object.fromEntries(Object.entries(m).map(([n, v]) => [n, round(v)])) as unknown as ImageMetrics;
    units.push({ unit, key, image, progression, initial: round(r.initial[k] ?? NaN)!, final: round(r.final[k] ?? NaN)!, metrics });
  }
  const manifest: ShardManifest = { shard: shard.key, layer: shard.layer, method: shard.method, seed: shard.seed, frames: [...r.frames.keys()].sort((a, b) => a - b), units };
  const ms = performance.now() - t0;
  writeFileAtomic(dir, `timings/${shard.key}.json`, `${JSON.stringify({ shard: shard.key, units: units.length, ms, finishedAt: Date.now(), pid: process.pid })}\n`);
  writeFileAtomic(dir, `shards/${shard.key}.json`, `${JSON.stringify(manifest, null, 1)}\n`);
  return { manifest, rendered: true, ms };
}

