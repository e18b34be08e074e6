// The gradient programs the live page runs, compiled in Node by the same compiler as `fviz visualize`
// (DgnProgram for DGN-AM, pixelNetwork for the pixel methods) and served as ONNX bytes with what their
// outputs mean. Each (method, objective) is compiled once per server; the models are prepared once.
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { FvizError } from '../errors.ts';
import { resolveClassifier, resolveGenerator, defaultGenerator } from '../models/registry.ts';
import type { Classifier } from '../classifier/card.ts';
import type { Generator } from '../generator/card.ts';
import type { Model } from '../onnx/ir.ts';
import { loadAtBatch } from '../onnx/prepare.ts';
import { readModel } from '../onnx/proto.ts';
import { parseObjective } from '../optvis/objectives/parse.ts';
import { checkObjectiveNames } from '../optvis/objectives/check.ts';
import { DgnProgram } from '../optvis/param/generator.ts';
import { PpgnProgram } from '../optvis/param/ppgn.ts';
import { ppgnCodeLayer, ppgnSettings } from '../optvis/render/visualize-ppgn.ts';
import { pixelNetwork } from '../optvis/render/pixel.ts';
import type { ProgramMeta } from '../optvis/objectives/program-run.ts';
import { ortVersion } from '../runtime/session.ts';
import { LIVE_PIXEL_METHODS, type LiveInfo, type ProgramKind, type ProgramRequest, type ProgramResponse, type SpectrumResponse } from './protocol.ts';

export interface CompiledProgram extends ProgramResponse {
  data: Uint8Array;
}

export interface LiveModelOptions {
  model?: string;
  generator?: string;
  /** MaCo's magnitude: the average spectrum of this dataset (cifar10 or an image folder); without it the page offers no 'maco'. */
  dataset?: string;
}

/** The model pair of one server, its info for the page, and its compiled programs. */
export class LivePrograms {
  readonly classifier: Classifier;
  readonly generator: Generator | undefined;
  private readonly raw: Model;
  private prepared: { cls?: Model; gen?: Model } = {};
  private readonly programs = new Map<string, Promise<CompiledProgram>>();
  private readonly byId = new Map<string, CompiledProgram>();
  /** The classifier tensor the generator inverts (PPGN's prior), or why PPGN cannot run here. */
  private readonly codeLayer: { layer: string } | { why: string };
  private readonly dataset: string | undefined;
  private magnitude?: Promise<number[]>;

  constructor(opts: LiveModelOptions = {}) {
    this.classifier = resolveClassifier(opts.model);
    const g = opts.generator ?? defaultGenerator(opts.model);
    this.generator = g ? resolveGenerator(g) : undefined;
    this.raw = readModel(this.classifier.modelPath);
    this.dataset = opts.dataset;
    try {
      this.codeLayer = this.generator ? { layer: ppgnCodeLayer(this.generator, this.classifier) } : { why: 'method ppgn needs a generator: start fviz serve with --generator G' };
    } catch (e) {
      this.codeLayer = { why: e instanceof Error ? e.message : String(e) };
    }
  }

  info(): LiveInfo {
    const c = this.classifier;
    const labels = c.labels ?? [];
    const dgn = this.generator?.card.dgn;
    const gen = this.generator;
    const convs = this.raw.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.outputs[0]!);
    return {
      model: basename(c.modelPath),
      generator: gen ? basename(gen.modelPath) : null,
      size: c.card.input.size as [number, number],
      labels,
      examples: [...labels.slice(0, 10).map((l) => `class:${l}`), ...convs.slice(-3).map((t) => `${t}:0`)],
      methods: [...(gen ? ['dgn'] : []), ...(gen && 'layer' in this.codeLayer ? ['ppgn'] : []), ...LIVE_PIXEL_METHODS, ...(this.dataset ? ['maco'] : [])],
      dgn: gen
        ? {
            steps: dgn?.steps ?? 200,
            startStep: dgn?.startStep ?? 2,
            endStep: dgn?.endStep ?? 1e-10,
            l2: dgn?.l2 ?? 0.99,
            codeSize: gen.card.codeSize ?? 0,
            lower: gen.lower ? [...gen.lower] : null,
            upper: gen.upper ? [...gen.upper] : null,
            encoder: gen.card.encoder ?? null,
          }
        : null,
      ppgn: gen && 'layer' in this.codeLayer ? ppgnSettings(gen.card) : null,
      spectrum: this.dataset ?? null,
      ortVersion,
    };
  }

  /** The objective checked against the classifier's names: one line naming what is wrong. */
  private check(objective: string): void {
    const text = objective.trim();
    if (!text) throw new FvizError('objective is empty: give e.g. class:cat or a layer and channel such as TENSOR:3');
    checkObjectiveNames(this.raw, parseObjective(text), this.classifier.card.aliases ?? {});
  }

  private names() {
    const c = this.classifier;
    return { labels: c.labels, preSoftmax: c.card.preSoftmax, aliases: c.card.aliases };
  }

  /** The compiled program for a request (compiled on first use, then shared). */
  program(req: ProgramRequest): Promise<CompiledProgram> {
    if (req.method !== 'dgn' && req.method !== 'ppgn' && req.method !== 'pixel') throw new FvizError(`method '${String(req.method)}': the live page runs 'dgn', 'ppgn' or 'pixel' programs`);
    if (req.method === 'dgn' && !this.generator) throw new FvizError('method dgn needs a generator: start fviz serve with --generator G');
    if (req.method === 'ppgn' && 'why' in this.codeLayer) throw new FvizError(this.codeLayer.why);
    this.check(req.objective);
    const key = `${req.method}\n${req.objective.trim()}`;
    let p = this.programs.get(key);
    if (!p) {
      p = this.compile(req.method, req.objective.trim());
      this.programs.set(key, p);
      p.catch(() => this.programs.delete(key));
    }
    return p;
  }

  /** The code of an image (1 x 3 x H x W in [0, 1]) through the generator card's encoder, run in Node. */
  async encode(image: number[]): Promise<{ code: number[]; encoder: string }> {
    const encoder = this.generator?.card.encoder;
    if (!encoder) throw new FvizError('the generator card names no encoder: DGN-AM cannot start from an image (add "encoder": "MODEL:TENSOR" to the card)');
    const [h, w] = this.classifier.card.input.size as [number, number];
    if (!Array.isArray(image) || image.length !== 3 * h * w || image.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
      throw new FvizError(`the image must be ${3 * h * w} finite numbers (1 x 3 x ${h} x ${w} in [0, 1])`);
    const { encodeImages } = await import('../optvis/param/encode.ts');
    const code = await encodeImages(encoder, { dtype: 'float32', dims: [1, 3, h, w], data: Float32Array.from(image) }, { threads: 1 });
    return { code: [...code], encoder };
  }

  /** MaCo's fixed magnitude: the dataset's average spectrum at the classifier's size (computed once, cached on disk by analysis/spectrum.ts). */
  spectrum(): Promise<SpectrumResponse> {
    const dataset = this.dataset;
    if (!dataset) return Promise.reject(new FvizError('method maco needs a dataset whose average spectrum is the fixed magnitude: start fviz serve with --dataset cifar10 (or an image folder)'));
    if (!this.magnitude) {
      const size = this.classifier.card.input.size as [number, number];
      this.magnitude = import('../analysis/spectrum.ts').then(async (m) => [...(await m.averageSpectrum(dataset, size))]);
      this.magnitude.catch(() => (this.magnitude = undefined));
    }
    return this.magnitude.then((magnitude) => ({ dataset, magnitude }));
  }

  get(id: string): CompiledProgram | undefined {
    return this.byId.get(id);
  }

  private async compile(method: ProgramKind, objective: string): Promise<CompiledProgram> {
    const t0 = performance.now();
    const c = this.classifier;
    const size = c.card.input.size as [number, number];
    this.prepared.cls ??= loadAtBatch(c.modelPath, 1, size);
    let data: Uint8Array;
    let meta: Record<string, unknown>;
    let terms: string[];
    let code: { codeInput?: string; codeShape?: number[]; codeTensor?: string } = {};
    if (method === 'dgn') {
      const gen = this.generator!;
      this.prepared.gen ??= loadAtBatch(gen.modelPath, 1);
      const prog = await DgnProgram.create({
        generator: this.prepared.gen,
        classifier: this.prepared.cls,
        generatorCard: gen.card,
        classifierCard: c.card,
        objective,
        names: this.names(),
        threads: 1,
      });
      await prog.release();
      if (!prog.entry) throw new FvizError(`the DGN-AM program for '${objective}' lifted weights out of the graph; the live page cannot load it`);
      data = prog.entry.bytes;
      meta = prog.entry.meta;
      terms = prog.labels;
      code = { codeInput: meta['codeInput'] as string, codeShape: meta['codeShape'] as number[] };
    } else if (method === 'ppgn') {
      const gen = this.generator!;
      this.prepared.gen ??= loadAtBatch(gen.modelPath, 1);
      const prog = await PpgnProgram.create({
        generator: this.prepared.gen,
        classifier: this.prepared.cls,
        generatorCard: gen.card,
        classifierCard: c.card,
        codeLayer: (this.codeLayer as { layer: string }).layer,
        objective,
        names: this.names(),
        threads: 1,
      });
      await prog.release();
      if (!prog.entry) throw new FvizError(`the PPGN program for '${objective}' lifted weights out of the graph; the live page cannot load it`);
      data = prog.entry.bytes;
      meta = prog.entry.meta;
      terms = prog.labels;
      code = { codeInput: meta['codeInput'] as string, codeShape: meta['codeShape'] as number[], codeTensor: meta['codeTensor'] as string };
    } else {
      const net = await pixelNetwork({ classifier: this.prepared.cls, card: c.card, objective, names: this.names(), threads: 1 });
      await net.release();
      const entry = net.compiledEntry();
      if (!entry) throw new FvizError(`the program for '${objective}' lifted weights out of the graph; the live page cannot load it`);
      data = entry.bytes;
      meta = entry.meta;
      terms = net.terms.map((t) => t.label);
    }
    const id = createHash('sha256').update(method).update('\n').update(objective).digest('hex').slice(0, 16);
    const compiled: CompiledProgram = {
      id,
      url: `api/program/${id}.onnx`,
      meta: meta as unknown as ProgramMeta,
      ...code,
      terms,
      bytes: data.length,
      compileMs: Math.round(performance.now() - t0),
      data,
    };
    this.byId.set(id, compiled);
    return compiled;
  }
}
