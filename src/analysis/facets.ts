// Multifaceted feature visualization (Nguyen, Yosinski & Clune 2016): a unit responds to several different
// kinds of input, and one synthetic image shows one of them. So: scan the dataset for the unit's top-N
// images (the objective's value per image), embed them (a layer's activations, by default the layer
// feeding the logits for class objectives, else the objective's own layer), cluster the embeddings with
// k-means, and start one optimization per cluster from the image nearest its centre: its encoded code
// for DGN-AM, its pixels for pixel-space methods. Each facet is shown beside its cluster's images.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import type { InputConvention } from '../classifier/card.ts';
import { DISPLAY_INPUT } from '../classifier/card.ts';
import type { Graph, Model } from '../onnx/ir.ts';
import { producers } from '../onnx/ir.ts';
import { resolveClassifier, resolveGenerator } from '../models/registry.ts';
import { encodeImages, parseEncoder } from '../optvis/param/encode.ts';
import { writeAtomic } from '../onnx/proto.ts';
import { fileSha256, VERSION } from '../util/run-record.ts';
import { visualizeDgn, visualizePixel, type DgnVisualizeOptions, type VisualizeResult } from '../optvis/render/visualize.ts';
import { PIXEL_METHODS, type PixelMethod, type PixelOptions } from '../optvis/render/pixel.ts';
import type { Nchw } from '../image/nchw.ts';
import { readImage } from '../render/image.ts';
import { renderSheet, type SheetRow } from '../render/sheet.ts';
import { Session, type SessionOptions } from '../runtime/session.ts';
import { bytesToNchw, formatValue } from './examples-sheet.ts';
import { decodeMany } from './examples.ts';
import { kmeans, type KMeansResult } from './kmeans.ts';
import { layerProbe, loadAtBatch, objectiveProbe, scanActivations, scanControl, type ScanCommandOptions } from './scan.ts';
import { resolveTerms } from '../optvis/objectives/build.ts';
import { parseObjective } from '../optvis/objectives/parse.ts';
import { openScanSource, toDisplayBatch, type ImageSource } from '../dataset/stream-source.ts';
import { createOutputFolder } from '../util/output-folder.ts';

export type FacetMethod = 'dgn' | PixelMethod;

export interface FacetsOptions extends ScanCommandOptions {
  model?: string;
  /** A generator: facets by DGN-AM from encoded codes. Without one, a pixel-space method from the images. */
  generator?: string;
  /** 'MODEL:TENSOR' whose activations are a code for the generator (default: the generator card's encoder). */
  encoder?: string;
  method?: FacetMethod;
  objective: string;
  dataset: string;
  k: number;
  /** Top images of the objective to cluster (default 50). */
  top?: number;
  /** Layer whose activations embed the images (default: the layer before the logits, or the objective's layer). */
  embedLayer?: string;
  out: string;
  steps?: number;
  seed?: number;
  /** Scan batch size (default 16). */
  batch?: number;
  /** Dataset images shown beside each facet (default 8). */
  examples?: number;
  /** Overrides for the pixel method. */
  pixel?: Partial<PixelOptions>;
  /** Overrides for DGN-AM (step sizes, optimizer, ...). */
  dgn?: Partial<Omit<DgnVisualizeOptions, 'model' | 'generator' | 'objective' | 'out' | 'init'>>;
  input?: Partial<InputConvention>;
  /** Called before each facet's optimization starts. */
  onFacet?: (index: number, k: number) => void;
}

export interface FacetImage {
  file: string;
  index: number;
  class?: string;
  /** The objective on this image. */
  value: number;
  /** Squared distance of its embedding to the cluster centre. */
  distance: number;
}

export interface FacetCluster {
  facet: number;
  size: number;
  /** The image the optimization started from (nearest the centre). */
  seed: FacetImage;
  /** Members, nearest the centre first. */
  members: FacetImage[];
  /** Run folder of the optimization (result.png, run.json). */
  run: string;
  result: string;
  /** Objective at the start (the seed's image or code) and at the end. */
  initial: number;
  final: number;
}

export interface FacetsRecord {
  tool: 'fviz';
  objective: string;
  terms: string[];
  method: FacetMethod;
  k: number;
  top: number;
  embedLayer: string;
  embedDim: number;
  dataset: { spec: string; description: string; root: string | null; images: number; skipped: { file: string; error: string }[] };
  kmeans: { seed: number; inertia: number; iterations: number };
  clusters: FacetCluster[];
  sheet: string;
}

export interface FacetsResult {
  outDir: string;
  record: FacetsRecord;
  outputs: string[];
}

const PASS_THROUGH = new Set(['Add', 'Sub', 'Reshape', 'Flatten', 'Identity', 'Dropout', 'Squeeze', 'Unsqueeze', 'Mul', 'Div']);

/** The tensor the class scores are computed from: walk back from `logits` through bias adds and reshapes to a Gemm/MatMul/Conv's data input. */
export function layerBeforeLogits(g: Graph, logits: string): string | undefined {
  const prod = producers(g);
  const isData = (name: string) => (!g.initializers.has(name) && prod.has(name)) || g.inputs.some((i) => i.name === name);
  let t = logits;
  for (let guard = 0; guard < 32; guard++) {
    const n = prod.get(t);
    if (!n) return undefined;
    if (n.opType === 'Gemm' || n.opType === 'MatMul' || n.opType === 'Conv') return n.inputs[0];
    if (!PASS_THROUGH.has(n.opType)) return undefined;
    const next = n.inputs.find((i) => i && isData(i));
    if (!next) return undefined;
    t = next;
  }
  return undefined;
}

function defaultEmbedLayer(model: Model, terms: { target: { kind: string }; tensor: string }[]): string {
  const first = terms[0]!;
  if (terms.every((t) => t.target.kind === 'class')) {
    const before = layerBeforeLogits(model.graph, first.tensor);
    if (before) return before;
  }
  return first.tensor;
}

/** Embeddings [n, d] of source images at the probe's size, `batch` at a time. */
async function embedImages(
  classifierSpec: { model?: string; input?: Partial<InputConvention> },
  layer: string,
  pixels: Uint8Array[],
  session: Omit<SessionOptions, 'source'>,
): Promise<{ data: Float32Array; dim: number; tensor: string }> {
  const batch = Math.min(16, pixels.length);
  const probe = await layerProbe(resolveClassifier(classifierSpec.model, classifierSpec.input), layer, batch);
  const [H, W] = probe.size;
  const dim = probe.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(pixels.length * dim);
  const s = await Session.create(probe.model, { device: session.device, threads: session.threads, source: probe.tensor });
  try {
    for (let k = 0; k < pixels.length; k += batch) {
      const part = pixels.slice(k, k + batch);
      const x = toDisplayBatch(part, batch, H, W);
      const y = (await s.run({ [DISPLAY_INPUT]: { dtype: 'float32', dims: [batch, 3, H, W], data: x } }, [probe.tensor]))[probe.tensor]!.data as Float32Array;
      data.set(y.subarray(0, part.length * dim), k * dim);
    }
  } finally {
    await s.release();
  }
  return { data, dim, tensor: probe.tensor };
}

function checkMethod(method: FacetMethod, o: FacetsOptions): void {
  if (method === 'dgn') {
    if (!o.generator) throw new FvizError('facets by DGN-AM need --generator (embedded, dgn-fc6, twin:fc6-generator, or an .onnx path)');
    return;
  }
  if (!(PIXEL_METHODS as readonly string[]).includes(method)) throw new FvizError(`unknown method '${method}': choose dgn or one of ${PIXEL_METHODS.join(', ')}`);
  if (method === 'fourier' || o.pixel?.param === 'fourier')
    throw new FvizError(`facets start each optimization from a dataset image, which the Fourier parameterization cannot take: choose a pixel-parameterized method (${PIXEL_METHODS.filter((m) => m !== 'fourier').join(', ')})`);
}

export async function multifacetedVisualization(o: FacetsOptions): Promise<FacetsResult> {
  const t0 = performance.now();
  const method: FacetMethod = o.method ?? (o.generator ? 'dgn' : 'tv');
  checkMethod(method, o);
  const k = o.k;
  const topN = o.top ?? 50;
  if (!Number.isInteger(k) || k < 1) throw new FvizError(`--k ${k} must be a positive integer`);
  if (!Number.isInteger(topN) || topN < k) throw new FvizError(`--top ${topN} must be an integer of at least --k (${k})`);
  const seed = o.seed ?? 0;
  const classifier = resolveClassifier(o.model, o.input);
  const generator = method === 'dgn' ? resolveGenerator(o.generator!) : undefined;
  const encoder = o.encoder ?? generator?.card.encoder;
  if (generator && !encoder)
    throw new FvizError(`DGN-AM facets start from encoded images: pass --encoder MODEL:TENSOR (the layer '${generator.card.name}' inverts), or give the generator card an 'encoder'`);
  if (encoder) parseEncoder(encoder);

  // 1. The objective's top images, by one scan.
  const source: ImageSource = await openScanSource(o.dataset, o.onStatus);
  const probe = await objectiveProbe(classifier, o.objective, o.batch ?? 16);
  createOutputFolder(o.out);
  const scan = await scanActivations({
    source,
    probe,
    top: topN,
    bottom: 0,
    checkpoint: join(o.out, 'scan.ckpt'),
    ...scanControl(o),
  });
  const top = scan.stats.result(0, []).top;
  if (top.length < k) throw new FvizError(`only ${top.length} images were scanned; ${k} facets need at least ${k}`);
  const sourceIdx = top.map((e) => scan.stats.sourceIndex[e.image]!);
  const pixels = await decodeMany(source, sourceIdx, probe.size);

  // 2. Embed and cluster.
  const whole = loadAtBatch(classifier.modelPath, 1, classifier.card.input.size);
  const terms = resolveTerms(whole, parseObjective(o.objective), { labels: classifier.labels, preSoftmax: classifier.card.preSoftmax, aliases: classifier.card.aliases });
  const embedLayer = o.embedLayer ?? defaultEmbedLayer(whole, terms);
  const emb = await embedImages({ model: o.model, input: o.input }, embedLayer, sourceIdx.map((i) => pixels.get(i)!), o);
  const km: KMeansResult = kmeans(emb.data, top.length, emb.dim, k, { seed });

  const image = (rank: number): FacetImage => {
    const index = sourceIdx[rank]!;
    const f: FacetImage = { file: source.names[index]!, index, value: top[rank]!.value, distance: km.distances[rank]! };
    if (source.classes && source.labels) f.class = source.classes[source.labels[index]!]!;
    return f;
  };
  // Facets in order of cluster size (largest first), ties by the best-ranked member.
  const groups = Array.from({ length: k }, (_, c) => ({ c, ranks: [] as number[] }));
  for (let r = 0; r < top.length; r++) groups[km.assignment[r]!]!.ranks.push(r);
  for (const g of groups) g.ranks.sort((a, b) => km.distances[a]! - km.distances[b]! || a - b);
  groups.sort((a, b) => b.ranks.length - a.ranks.length || Math.min(...a.ranks) - Math.min(...b.ranks));

  // 3. One optimization per cluster, from the image nearest its centre.
  const clusters: FacetCluster[] = [];
  const facetImages: Nchw[] = [];
  const outputs: string[] = [];
  for (let f = 0; f < groups.length; f++) {
    o.onFacet?.(f, k);
    const ranks = groups[f]!.ranks;
    const seedRank = ranks[0]!;
    const seedIndex = sourceIdx[seedRank]!;
    const run = `facet-${f}`;
    const outDir = join(o.out, run);
    let res: VisualizeResult;
    if (method === 'dgn') {
      const encCls = resolveClassifier(parseEncoder(encoder!).model);
      const encSize = encCls.card.input.size;
      const px = (await decodeMany(source, [seedIndex], [encSize[0], encSize[1]])).get(seedIndex)!;
      const code = await encodeImages(encoder!, bytesToNchw(px, encSize[0], encSize[1]), { device: o.device, threads: o.threads });
      res = await visualizeDgn({ ...o.dgn, model: o.model, input: o.input, generator: o.generator!, objective: o.objective, out: outDir, init: code, steps: o.steps ?? o.dgn?.steps, seed, device: o.device, threads: o.threads, warn: o.warn, command: o.command });
    } else {
      const [H, W] = probe.size;
      const initImage = bytesToNchw(pixels.get(seedIndex)!, H, W);
      res = await visualizePixel({
        model: o.model,
        input: o.input,
        objective: o.objective,
        method,
        out: outDir,
        options: { ...o.pixel, initImage, seed, ...(o.steps !== undefined ? { steps: o.steps } : {}) },
        device: o.device,
        threads: o.threads,
        command: o.command,
      });
    }
    facetImages.push(await readImage(join(outDir, 'result.png')));
    outputs.push(...res.outputs.map((p) => `${run}/${p}`));
    clusters.push({
      facet: f,
      size: ranks.length,
      seed: image(seedRank),
      members: ranks.map(image),
      run,
      result: `${run}/result.png`,
      initial: res.history[0]?.[0] ?? NaN,
      final: res.final[0] ?? NaN,
    });
  }

  // 4. The sheet: each facet, then its cluster's images nearest the centre.
  const shown = o.examples ?? 8;
  const [H, W] = probe.size;
  const rows: SheetRow[] = clusters.map((cl, f) => {
    const members = cl.members.slice(0, shown);
    return {
      label: `facet ${f}\n${cl.size} images`,
      cells: [facetImages[f]!, ...members.map((m) => bytesToNchw(pixels.get(m.index)!, H, W))],
      captions: [`${formatValue(cl.initial)} -> ${formatValue(cl.final)}`, ...members.map((m) => formatValue(m.value))],
    };
  });
  const columns = ['facet', ...Array.from({ length: Math.min(shown, Math.max(...clusters.map((c) => c.size))) }, (_, i) => (i === 0 ? 'start image' : `nearest ${i + 1}`))];
  const sheet = await renderSheet({ rows, columns, title: `${o.objective}: ${k} facets of its top ${top.length} images (${method}, embedded by ${emb.tensor})`, tile: Math.max(H, W) >= 128 ? 128 : undefined });
  writeAtomic(join(o.out, 'facets.png'), sheet);

  const record: FacetsRecord = {
    tool: 'fviz',
    objective: o.objective,
    terms: probe.terms,
    method,
    k,
    top: top.length,
    embedLayer: emb.tensor,
    embedDim: emb.dim,
    dataset: { spec: o.dataset, description: source.description, root: source.root ?? null, images: scan.stats.n, skipped: scan.skipped },
    kmeans: { seed, inertia: km.inertia, iterations: km.iterations },
    clusters,
    sheet: 'facets.png',
  };
  writeAtomic(join(o.out, 'facets.json'), `${JSON.stringify(record, null, 2)}\n`);
  const models = [{ role: 'classifier', path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) }];
  if (generator) models.push({ role: 'generator', path: generator.modelPath, sha256: await fileSha256(generator.modelPath) });
  outputs.push('facets.png', 'facets.json', 'run.json');
  const run = {
    tool: 'fviz',
    version: VERSION,
    command: o.command ?? 'facets',
    parameters: { objective: o.objective, method, k, top: topN, embedLayer: emb.tensor, encoder: encoder ?? null, steps: o.steps ?? null, seed, dataset: o.dataset, batch: o.batch ?? 16 },
    models,
    timings: { totalMs: performance.now() - t0, scanMs: scan.timings.totalMs, imagesPerSecond: scan.timings.imagesPerSecond },
    resumed: scan.resumed ?? null,
    outputs,
  };
  writeAtomic(join(o.out, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
  rmSync(join(o.out, 'scan.ckpt'), { force: true });
  return { outDir: o.out, record, outputs };
}
