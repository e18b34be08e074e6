// One pass of a dataset through a classifier, keeping per-channel statistics of one tensor for every
// channel at once (N x C x H x W: the max over positions and where it is; N x K: the value). Decoding runs
// ahead of inference (dataset/stream.ts), batches are fixed-size batches of readable images, and the running
// state is checkpointed atomically every few batches: a scan killed at any point and started again with
// the same arguments continues from its last checkpoint and ends with the same state as one that ran
// through.
import { createHash } from 'node:crypto';
import { FvizError } from '../errors.ts';
import { DISPLAY_INPUT, withDisplayInput, type Classifier } from '../classifier/card.ts';
import { pruneGraph } from '../autodiff/compile.ts';
import { cloneModel, type Model } from '../onnx/ir.ts';
import { loadAtBatch, prepareModel } from '../onnx/prepare.ts';
import { readModel } from '../onnx/proto.ts';
import { appendObjective, findPreSoftmax, OBJECTIVE_PER_ITEM, resolveTensor } from '../optvis/objectives/build.ts';
import { fileSha256 } from '../util/run-record.ts';
import { Session, type SessionOptions } from '../runtime/session.ts';
import { readCheckpoint, writeCheckpoint, type CheckpointHeader } from './scan-checkpoint.ts';
import { receptiveField, type ReceptiveField } from './scan-rf.ts';
import { ChannelStats, type StatsOptions } from './scan-stats.ts';
import { readableBatches } from '../dataset/stream.ts';
import { toDisplayBatch, type ImageSource } from '../dataset/stream-source.ts';

/** What a scan runs: a model taking display images 'image' [B, 3, H, W] and giving one tensor. */
export interface ScanProbe {
  model: Model;
  tensor: string;
  /** [B, C, H, W], [B, K] or [B]. */
  shape: number[];
  /** Display input size [H, W]. */
  size: [number, number];
  receptiveField?: ReceptiveField;
  /** Identifies what is computed (model hash, tensor or objective, input convention), for checkpoint keys and run.json. */
  identity: Record<string, unknown>;
}

export function modelAliases(model: Model, classifier: Classifier): Record<string, string> {
  let meta: Record<string, string> = {};
  try {
    meta = JSON.parse(model.metadata['fviz.aliases'] ?? '{}') as Record<string, string>;
  } catch {
    /* malformed metadata: no aliases */
  }
  return { ...meta, ...(classifier.card.aliases ?? {}) };
}

/** `model` with its input renamed when it is called `name` (withDisplayInput adds an input of that name). */
function inputNotNamed(model: Model, name: string): Model {
  const g = model.graph;
  const input = g.inputs.find((i) => i.name === name);
  if (!input) return model;
  const m = cloneModel(model);
  const renamed = `${name}__original`;
  for (const i of m.graph.inputs) if (i.name === name) i.name = renamed;
  for (const n of m.graph.nodes) n.inputs = n.inputs.map((x) => (x === name ? renamed : x));
  const t = m.graph.valueTypes.get(name);
  if (t) {
    m.graph.valueTypes.delete(name);
    m.graph.valueTypes.set(renamed, t);
  }
  return m;
}

function finishProbe(prepared: Model, classifier: Classifier, tensor: string, identity: Record<string, unknown>): ScanProbe {
  const t = prepared.graph.valueTypes.get(tensor)!;
  const shape = t.shape as number[];
  if (!(shape.length === 1 || shape.length === 2 || shape.length === 4))
    throw new FvizError(`tensor '${tensor}' has shape [${shape}]; a scan needs N x C x H x W, N x K or N`, { subject: tensor });
  const rf = shape.length === 4 ? receptiveField(prepared, tensor) : undefined;
  const m = withDisplayInput(inputNotNamed(prepared, DISPLAY_INPUT), classifier.card.input);
  m.graph.outputs = [{ name: tensor, dtype: t.dtype, shape: [...shape] }];
  pruneGraph(m.graph);
  const size = classifier.card.input.size;
  return { model: m, tensor, shape, size: [size[0], size[1]], receptiveField: rf, identity };
}

export { loadAtBatch };

/** A probe of one layer (a tensor name or an alias). */
export async function layerProbe(classifier: Classifier, layer: string, batch: number): Promise<ScanProbe> {
  const prepared = loadAtBatch(classifier.modelPath, batch, classifier.card.input.size);
  const aliases = modelAliases(prepared, classifier);
  // 'logits' names the class scores of any classifier (the card's pre-softmax tensor, else the Softmax input).
  const g = prepared.graph;
  const logits = layer === 'logits' && !g.valueTypes.has(layer) && !aliases[layer] ? (classifier.card.preSoftmax ?? findPreSoftmax(g)) : undefined;
  const tensor = resolveTensor(g, logits ?? layer, aliases);
  return finishProbe(prepared, classifier, tensor, {
    model: await fileSha256(classifier.modelPath),
    tensor,
    input: classifier.card.input,
  });
}

/** A probe of an objective's value per image (`class:K`, `TENSOR:C`, sums...), as an N-vector. */
export async function objectiveProbe(classifier: Classifier, objective: string, batch: number): Promise<ScanProbe & { terms: string[] }> {
  const prepared = loadAtBatch(classifier.modelPath, batch, classifier.card.input.size);
  const obj = appendObjective(prepared, objective, { labels: classifier.labels, preSoftmax: classifier.card.preSoftmax, aliases: classifier.card.aliases });
  const probe = finishProbe(obj.model, classifier, OBJECTIVE_PER_ITEM, {
    model: await fileSha256(classifier.modelPath),
    objective,
    input: classifier.card.input,
  });
  return { ...probe, terms: obj.terms.map((t) => t.label) };
}

export interface ScanProgress {
  /** Next source image (all listed files before it are done). */
  next: number;
  /** Where this run started (0, or the checkpoint's position). */
  start: number;
  total: number;
  images: number;
  skipped: number;
  batches: number;
  /** Images per second over this run (resumed work excluded). */
  rate: number;
}

export interface ScanOptions extends Omit<SessionOptions, 'source'> {
  source: ImageSource;
  probe: ScanProbe;
  top?: number;
  bottom?: number;
  /** Keep every value while images x channels is at most this (default 16M: 64 MB of values); else a reservoir. */
  exactLimit?: number;
  /** Reservoir size in images (sketch mode; default 1000). */
  reservoir?: number;
  seed?: number;
  /** Checkpoint file; absent: no checkpoints, no resume. */
  checkpoint?: string;
  /** Batches between checkpoints (default 50). */
  checkpointEvery?: number;
  /** Ignore an existing checkpoint. */
  fresh?: boolean;
  /** Stops the scan after the current batch (the last checkpoint stays, as after a kill). */
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
  /** Decodes in flight (default 2 batches). */
  ahead?: number;
  /** Told when a checkpoint is there but belongs to another scan (and is ignored). */
  warn?: (line: string) => void;
}

/** What a command built on one scan (examples, facets) takes besides its own options. */
export interface ScanCommandOptions extends Omit<SessionOptions, 'source'>, Pick<ScanOptions, 'checkpointEvery' | 'fresh' | 'signal' | 'onProgress' | 'warn'> {
  /** Told of slow preparation before the scan starts (extracting CIFAR-10). */
  onStatus?: (msg: string) => void;
  /** The command line, for run.json. */
  command?: string;
}

/** What a command passes on to scanActivations from its ScanCommandOptions. */
export function scanControl(o: ScanCommandOptions): Pick<ScanOptions, 'checkpointEvery' | 'fresh' | 'signal' | 'onProgress' | 'warn' | 'device' | 'threads'> {
  return { checkpointEvery: o.checkpointEvery, fresh: o.fresh, signal: o.signal, onProgress: o.onProgress, warn: o.warn, device: o.device, threads: o.threads };
}

export interface ScanResult {
  stats: ChannelStats;
  /** Channels (K for N x K, 1 for N). */
  channels: number;
  /** [H, W] of the layer, or undefined for vectors. */
  spatial?: [number, number];
  skipped: { file: string; error: string }[];
  /** Source images listed. */
  listed: number;
  batches: number;
  /** Where the scan picked up, when it resumed from a checkpoint. */
  resumed?: { images: number; batches: number; done: boolean };
  key: string;
  timings: { totalMs: number; inferenceMs: number; decodeWaitMs: number; imagesPerSecond: number };
}

export function scanKey(o: Pick<ScanOptions, 'source' | 'probe'>, stats: StatsOptions, batch: number): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, probe: o.probe.identity, batch, source: o.source.key, stats: { ...stats, capacity: undefined } }));
  return h.digest('hex');
}

/** Max over positions (and where, the first on ties) of every channel of image `b`: out[c], pos[c]. NaN never wins. */
function reduceImage(data: Float32Array, b: number, C: number, S: number, out: Float32Array, pos: Int32Array): void {
  for (let c = 0; c < C; c++) {
    const base = (b * C + c) * S;
    let best = -Infinity;
    let at = 0;
    for (let s = 0; s < S; s++) {
      const v = data[base + s]!;
      if (v > best) {
        best = v;
        at = s;
      }
    }
    out[c] = best;
    pos[c] = at;
  }
}

export async function scanActivations(o: ScanOptions): Promise<ScanResult> {
  const t0 = performance.now();
  const { source, probe } = o;
  const [B] = probe.shape as [number];
  const C = probe.shape.length === 1 ? 1 : probe.shape[1]!;
  const spatial: [number, number] | undefined = probe.shape.length === 4 ? [probe.shape[2]!, probe.shape[3]!] : undefined;
  const S = spatial ? spatial[0] * spatial[1] : 1;
  const total = source.names.length;
  const exactLimit = o.exactLimit ?? 16 * 1024 * 1024;
  const statsOpts: StatsOptions = {
    channels: C,
    spatial: !!spatial,
    top: o.top ?? 9,
    bottom: o.bottom ?? 9,
    capacity: total,
    exact: total * C <= exactLimit,
    reservoir: o.reservoir ?? 1000,
    seed: o.seed ?? 0,
  };
  const key = scanKey(o, statsOpts, B);
  let stats = new ChannelStats(statsOpts);
  let next = 0;
  let batches = 0;
  let skipped: { file: string; error: string }[] = [];
  let resumed: ScanResult['resumed'];
  let done = false;
  const saved = o.checkpoint && !o.fresh ? readCheckpoint(o.checkpoint) : undefined;
  if (saved && saved.header.key !== key)
    o.warn?.(`${o.checkpoint} is the state of a different scan (model, layer, dataset, batch or options changed): starting from the first image`);
  if (saved && saved.header.key === key) {
    stats = ChannelStats.restore(statsOpts, saved.arrays as never, saved.header.n);
    ({ next, batches, skipped, done } = saved.header);
    resumed = { images: saved.header.n, batches, done };
  }
  const [H, W] = probe.size;
  let inferenceMs = 0;
  let decodeWaitMs = 0;
  let runStart = performance.now();
  const imagesAtStart = stats.n;
  const start = next;
  const checkpointEvery = Math.max(1, o.checkpointEvery ?? 50);
  const save = (isDone: boolean) => {
    if (!o.checkpoint) return;
    const header: CheckpointHeader = { key, next, n: stats.n, batches, done: isDone, skipped, elapsedMs: performance.now() - t0 };
    writeCheckpoint(o.checkpoint, header, stats.arrays());
  };
  const rate = () => (stats.n - imagesAtStart) / Math.max(1e-9, (performance.now() - runStart) / 1000);
  if (!done) {
    o.signal?.throwIfAborted();
    const session = await Session.create(probe.model, { device: o.device, threads: o.threads, source: probe.tensor });
    // Rates count from here: building the session is a one-time cost, reported in totalMs.
    runStart = performance.now();
    const x = new Float32Array(B * 3 * H * W);
    const vals = new Float32Array(C);
    const pos = new Int32Array(C);
    try {
      const it = readableBatches(source, B, { from: next, height: H, width: W, ahead: o.ahead });
      for (;;) {
        const w0 = performance.now();
        const step = await it.next();
        decodeWaitMs += performance.now() - w0;
        if (step.done) break;
        const batch = step.value;
        for (const s of batch.skipped) skipped.push({ file: source.names[s.index]!, error: s.error });
        if (batch.indices.length > 0) {
          toDisplayBatch(batch.pixels, B, H, W, x);
          const r0 = performance.now();
          const out = (await session.run({ [DISPLAY_INPUT]: { dtype: 'float32', dims: [B, 3, H, W], data: x } }, [probe.tensor]))[probe.tensor]!;
          inferenceMs += performance.now() - r0;
          const data = out.data as Float32Array;
          for (let b = 0; b < batch.indices.length; b++) {
            reduceImage(data, b, C, S, vals, pos);
            stats.add(batch.indices[b]!, vals, pos);
          }
          batches++;
        }
        next = batch.next;
        o.onProgress?.({ next, start, total, images: stats.n, skipped: skipped.length, batches, rate: rate() });
        if (batches % checkpointEvery === 0 && batch.indices.length > 0) save(false);
        if (o.signal?.aborted) {
          await it.return(undefined);
          o.signal.throwIfAborted();
        }
      }
    } finally {
      await session.release();
    }
    if (stats.n === 0) throw new FvizError(`no image of ${source.description} could be read (${skipped.length} unreadable)`);
    save(true);
  }
  const totalMs = performance.now() - t0;
  return {
    stats,
    channels: C,
    spatial,
    skipped,
    listed: total,
    batches,
    resumed,
    key,
    timings: { totalMs, inferenceMs, decodeWaitMs, imagesPerSecond: rate() },
  };
}
