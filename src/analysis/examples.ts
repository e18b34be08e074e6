// `fviz examples` as a library function: one scan of a dataset through a layer, then for every channel its
// top and bottom images (with the receptive field around the maximum for spatial layers) and samples
// across the range by percentile: index.json, a contact sheet per channel, run.json. The scan's state is
// checkpointed in OUT/scan.ckpt; the same command run again after a kill continues from there.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import type { InputConvention } from '../classifier/card.ts';
import { resolveClassifier } from '../models/registry.ts';
import { writeAtomic } from '../onnx/proto.ts';
import { fileSha256, VERSION } from '../util/run-record.ts';
import { renderChannelSheet, type SheetExample } from './examples-sheet.ts';
import { layerProbe, scanActivations, scanControl, type ScanCommandOptions, type ScanProbe, type ScanResult } from './scan.ts';
import { cropBox } from './scan-rf.ts';
import { percentilePoints, type Example } from './scan-stats.ts';
import { openScanSource, type ImageSource } from '../dataset/stream-source.ts';
import { createOutputFolder } from '../util/output-folder.ts';

export interface ExampleEntry {
  /** The image: a path relative to the dataset root (or '#K' for unnamed images). */
  file: string;
  /** Position in the source's list. */
  index: number;
  class?: string;
  value: number | null;
  /** [y, x] of the maximum in the layer (spatial layers). */
  position?: [number, number];
  /** [y0, x0, y1, x1) input window of the maximum's receptive field, at the model's input size. */
  crop?: [number, number, number, number];
  percentile?: number;
}

export interface ChannelEntry {
  channel: number;
  sheet: string | null;
  stats: { count: number; mean: number; std: number; min: number | null; max: number | null; positive: number };
  top: ExampleEntry[];
  bottom: ExampleEntry[];
  percentiles: ExampleEntry[];
}

export interface ExamplesIndex {
  tool: 'fviz';
  model: string;
  layer: string;
  tensor: string;
  /** Per-image shape of the layer: [C, H, W] or [K]. */
  shape: number[];
  inputSize: [number, number];
  receptiveField: { size: [number, number]; stride: [number, number]; start: [number, number] } | null;
  dataset: { spec: string; description: string; root: string | null; listed: number; images: number };
  skipped: { count: number; files: { file: string; error: string }[] };
  /** exact: every value kept; sketch: percentiles from a uniform reservoir of images. */
  mode: { kind: 'exact' | 'sketch'; reservoir?: number };
  percentiles: number[];
  channels: ChannelEntry[];
}

const num = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** JSON entries for examples of a scan. */
export function exampleEntries(source: ImageSource, scan: ScanResult, probe: ScanProbe, list: Example[]): ExampleEntry[] {
  const [H, W] = probe.size;
  return list.map((e) => {
    const index = scan.stats.sourceIndex[e.image]!;
    const entry: ExampleEntry = { file: source.names[index]!, index, value: num(e.value) };
    if (source.classes && source.labels) entry.class = source.classes[source.labels[index]!]!;
    if (scan.spatial && e.position >= 0) {
      const w = scan.spatial[1];
      entry.position = [Math.floor(e.position / w), e.position % w];
      entry.crop = cropBox(probe.receptiveField, e.position, w, H, W);
    }
    if ('percentile' in e) entry.percentile = (e as Example & { percentile: number }).percentile;
    return entry;
  });
}

/** Channel `c`'s entry of the index. */
export function channelEntry(source: ImageSource, scan: ScanResult, probe: ScanProbe, c: number, percentiles: number[], sheet: string | null): ChannelEntry {
  const r = scan.stats.result(c, percentiles);
  return {
    channel: c,
    sheet,
    stats: { ...r.stats, min: num(r.stats.min), max: num(r.stats.max) },
    top: exampleEntries(source, scan, probe, r.top),
    bottom: exampleEntries(source, scan, probe, r.bottom),
    percentiles: exampleEntries(source, scan, probe, r.percentiles),
  };
}

/** Decodes the images of `indices` at the probe's size, `ahead` at a time. */
export async function decodeMany(source: ImageSource, indices: Iterable<number>, size: [number, number], ahead = 16): Promise<Map<number, Uint8Array>> {
  const want = [...new Set(indices)];
  const out = new Map<number, Uint8Array>();
  let next = 0;
  const worker = async () => {
    while (next < want.length) {
      const i = want[next++]!;
      const d = await source.decode(i, size[0], size[1]);
      if ('error' in d) throw new FvizError(`image '${source.names[i]}' could be read during the scan but not now: ${d.error}`, { subject: source.names[i] });
      out.set(i, d.pixels);
    }
  };
  await Promise.all(Array.from({ length: Math.min(ahead, want.length) }, worker));
  return out;
}

export interface ExamplesOptions extends ScanCommandOptions {
  model?: string;
  layer: string;
  dataset: string;
  out: string;
  top?: number;
  bottom?: number;
  /** Samples across the range (at the centres of as many equal percentile bins; default 10). */
  percentiles?: number;
  batch?: number;
  /** Channels to draw sheets for (default: all); the index always covers every channel. */
  channels?: number[];
  exactLimit?: number;
  reservoir?: number;
  seed?: number;
  /** Keep OUT/scan.ckpt after finishing (it holds every value in exact mode). */
  keepState?: boolean;
  input?: Partial<InputConvention>;
}

export interface ExamplesResult {
  outDir: string;
  index: ExamplesIndex;
  outputs: string[];
  scan: ScanResult;
}

export function channelSheetName(c: number): string {
  return `channels/${String(c).padStart(4, '0')}.png`;
}

export async function datasetExamples(o: ExamplesOptions): Promise<ExamplesResult> {
  const t0 = performance.now();
  const classifier = resolveClassifier(o.model, o.input);
  const batch = o.batch ?? 16;
  if (!Number.isInteger(batch) || batch < 1) throw new FvizError(`--batch ${batch} must be a positive integer`);
  const top = o.top ?? 9;
  const bottom = o.bottom ?? 9;
  const nPct = o.percentiles ?? 10;
  for (const [name, v] of [['--top', top], ['--bottom', bottom], ['--percentiles', nPct]] as const)
    if (!Number.isInteger(v) || v < 0 || v > 1000) throw new FvizError(`${name} ${v} must be an integer 0..1000`);
  const source = await openScanSource(o.dataset, o.onStatus);
  const probe = await layerProbe(classifier, o.layer, batch);
  createOutputFolder(o.out, 'channels');
  const checkpoint = join(o.out, 'scan.ckpt');
  const scan = await scanActivations({
    source,
    probe,
    top,
    bottom,
    exactLimit: o.exactLimit,
    reservoir: o.reservoir,
    seed: o.seed,
    checkpoint,
    ...scanControl(o),
  });
  const C = scan.channels;
  const sheetChannels = new Set(o.channels ?? Array.from({ length: C }, (_, c) => c));
  for (const c of sheetChannels) if (!Number.isInteger(c) || c < 0 || c >= C) throw new FvizError(`--sheets: channel ${c} is out of range: '${probe.tensor}' has channels 0..${C - 1}`);
  const percentiles = percentilePoints(nPct);
  const channels: ChannelEntry[] = [];
  for (let c = 0; c < C; c++) channels.push(channelEntry(source, scan, probe, c, percentiles, sheetChannels.has(c) ? channelSheetName(c) : null));

  // Sheets, a few channels at a time so only their images are held decoded.
  const r0 = performance.now();
  const outputs: string[] = [];
  const drawn = channels.filter((ch) => ch.sheet);
  const tensorLabel = o.layer === probe.tensor ? o.layer : `${o.layer} (${probe.tensor})`;
  for (let k = 0; k < drawn.length; k += 16) {
    const chunk = drawn.slice(k, k + 16);
    const pixels = await decodeMany(source, chunk.flatMap((ch) => [...ch.top, ...ch.bottom, ...ch.percentiles].map((e) => e.index)), probe.size);
    for (const ch of chunk) {
      const ex = (e: ExampleEntry): SheetExample => ({ pixels: pixels.get(e.index)!, name: e.file, value: e.value ?? -Infinity, crop: e.crop, percentile: e.percentile });
      const s = ch.stats;
      const png = await renderChannelSheet({
        title: `${tensorLabel} channel ${ch.channel}: mean ${s.mean.toPrecision(4)}, std ${s.std.toPrecision(4)}, max ${s.max?.toPrecision(4)} over ${s.count} images`,
        size: probe.size,
        top: ch.top.map(ex),
        bottom: ch.bottom.map(ex),
        percentiles: ch.percentiles.map(ex),
        crops: !!scan.spatial && !!probe.receptiveField,
      });
      writeAtomic(join(o.out, ch.sheet!), png);
      outputs.push(ch.sheet!);
    }
  }
  const renderMs = performance.now() - r0;

  const exact = scan.stats.o.exact;
  const index: ExamplesIndex = {
    tool: 'fviz',
    model: classifier.modelPath,
    layer: o.layer,
    tensor: probe.tensor,
    shape: probe.shape.slice(1),
    inputSize: probe.size,
    receptiveField: probe.receptiveField ?? null,
    dataset: { spec: o.dataset, description: source.description, root: source.root ?? null, listed: scan.listed, images: scan.stats.n },
    skipped: { count: scan.skipped.length, files: scan.skipped },
    mode: exact ? { kind: 'exact' } : { kind: 'sketch', reservoir: scan.stats.o.reservoir },
    percentiles,
    channels,
  };
  writeAtomic(join(o.out, 'index.json'), `${JSON.stringify(index)}\n`);
  outputs.push('index.json', 'run.json');
  const record = {
    tool: 'fviz',
    version: VERSION,
    command: o.command ?? 'examples',
    parameters: {
      model: o.model ?? 'embedded',
      layer: o.layer,
      tensor: probe.tensor,
      dataset: o.dataset,
      top,
      bottom,
      percentiles: nPct,
      batch,
      mode: index.mode,
      seed: o.seed ?? 0,
      checkpointEvery: o.checkpointEvery ?? 50,
      sheets: drawn.length,
      classifierInput: classifier.card.input,
    },
    models: [{ role: 'classifier', path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) }],
    dataset: index.dataset,
    skipped: index.skipped.count,
    resumed: scan.resumed ?? null,
    timings: {
      totalMs: performance.now() - t0,
      scanMs: scan.timings.totalMs,
      inferenceMs: scan.timings.inferenceMs,
      decodeWaitMs: scan.timings.decodeWaitMs,
      renderMs,
      imagesPerSecond: scan.timings.imagesPerSecond,
    },
    outputs,
  };
  writeAtomic(join(o.out, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
  if (!o.keepState) rmSync(checkpoint, { force: true });
  return { outDir: o.out, index, outputs, scan };
}
