// `fviz atlas` in one process: resolve the model and layers, plan the shards, render those not finished,
// then write the site. The queue (queue.ts, worker.ts) runs the same plan's shards on many machines.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { freemem } from 'node:os';
import { FvizError, nearestNames } from '../errors.ts';
import type { Classifier } from '../classifier/card.ts';
import { METHODS } from '../optvis/render/presets.ts';
import { loadAtBatch } from '../onnx/prepare.ts';
import { resolveClassifier, resolveGenerator } from '../models/registry.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { createOutputFolder } from '../util/output-folder.ts';
import { fileSha256 } from '../util/run-record.ts';
import { chooseBatch } from './batch-size.ts';
import { examplesShard } from './examples.ts';
import { atlasPaths, PLAN_FILE, TEMP_NAME, writeFileAtomic } from './paths.ts';
import { parseUnits, planAtlas, type AtlasPlan, type PlanLayer, type PlanModel, type Shard } from './plan.ts';
import { releaseWarmProgram, renderShard, type RenderContext } from './render.ts';
import { writeSite } from './site.ts';
import { checkLanes, defaultLanes, LanePool } from './lanes.ts';

export interface AtlasOptions extends SessionOptions {
  model?: string;
  generator?: string;
  /** Comma-separated layer names, or 'all' (every inception output, else every ReLU of an image tensor). */
  layers: string;
  /** Comma-separated methods (pixel methods of the method table, or dgn with --generator). */
  methods?: string;
  seeds?: number;
  steps?: number;
  /** Units per batch (default: chosen by memory, or the folder's own when it has an atlas). */
  batch?: number;
  /** Keep only these units of each layer ('0-15,42'). */
  units?: string;
  dataset?: string;
  out: string;
  /**
   * Render only this shard of the plan (0-based, atlas.json's order) and write no site: one pod of an
   * Indexed Job. Every pod must cut the same plan, so the batch must be given (or be in the folder).
   */
  shard?: number;
  /** Shards rendered side by side on worker threads, one intra-op thread each unless --threads says otherwise (default: one per core). */
  lanes?: number;
  onShard?: (p: ShardProgress) => void;
}

export interface ShardProgress {
  done: number;
  total: number;
  shard: Shard;
  rendered: boolean;
  ms: number;
}

export const DEFAULT_STEPS = 128;

/** Layers of 'all': the inception outputs; a model without them: every ReLU output of an image tensor. */
function allLayers(model: ReturnType<typeof loadAtBatch>): string[] {
  const four = (t: string) => model.graph.valueTypes.get(t)?.shape.length === 4;
  const outs = model.graph.nodes.flatMap((n) => n.outputs).filter((t) => /(^|\/)output$/.test(t) && four(t));
  if (outs.length) return outs;
  return model.graph.nodes.filter((n) => n.opType === 'Relu').flatMap((n) => n.outputs).filter(four);
}

/** The layers named (or all), each with its tensor and unit count; an unknown name fails with the nearest ones. */
export function resolveLayers(classifier: Classifier, spec: string): PlanLayer[] {
  const model = loadAtBatch(classifier.modelPath, 1, classifier.card.input.size);
  const g = model.graph;
  const aliases = classifier.card.aliases ?? {};
  const known = [...g.valueTypes.keys()].filter((k) => !g.initializers.has(k));
  const names = spec.trim() === 'all' ? allLayers(model) : spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new FvizError(`--layers '${spec}' names no layer: give tensor names (fviz inspect MODEL lists them) or all`);
  return names.map((name) => {
    const tensor = g.valueTypes.has(name) && !g.initializers.has(name) ? name : aliases[name];
    if (!tensor || !g.valueTypes.has(tensor))
      throw new FvizError(`unknown layer '${name}'; nearest names: ${nearestNames(name, [...known, ...Object.keys(aliases)]).join(', ')} (fviz inspect MODEL lists them all)`, { subject: name });
    const shape = (g.valueTypes.get(tensor)!.shape as number[]).slice(1);
    if (shape.length !== 3 && shape.length !== 1) throw new FvizError(`layer '${name}' has shape [${shape}] per image; an atlas needs C x H x W or K units`, { subject: name });
    return { name, tensor, channels: shape[0]!, shape };
  });
}

/** The methods named: pixel methods of the table, or dgn (which needs a generator). */
export function checkMethods(spec: string, generator: string | undefined): string[] {
  const methods = [...new Set(spec.split(',').map((s) => s.trim()).filter(Boolean))];
  if (methods.length === 0) throw new FvizError('--methods names no method: e.g. fourier,dgn');
  const usable = [...METHODS].filter(([, r]) => r.param === 'pixel' && !r.dataset).map(([n]) => n);
  for (const m of methods) {
    if (m === 'dgn') {
      if (!generator) throw new FvizError('--methods dgn needs --generator G (e.g. embedded)');
      continue;
    }
    if (!usable.includes(m)) throw new FvizError(`--methods: '${m}' is not an atlas method; choose from ${[...usable, 'dgn'].join(', ')}`);
  }
  return methods;
}

/** Whether a model's graph runs at batch n (some fix batch 1 in a Reshape). */
function runsAtBatch(path: string, n: number): boolean {
  try {
    loadAtBatch(path, n);
    return true;
  } catch {
    return false;
  }
}

async function planModel(spec: string, path: string): Promise<PlanModel> {
  return { spec, file: basename(path), sha256: await fileSha256(path) };
}

/** The atlas in the folder, if there is one. */
export function readPlan(dir: string): AtlasPlan | undefined {
  const p = atlasPaths.plan(dir);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as AtlasPlan;
  } catch {
    throw new FvizError(`${p} is not an atlas plan (unreadable JSON): choose another --out`, { subject: p });
  }
}

/** A folder holding another model's atlas is refused: its renders would be mixed with this one's. */
export function checkFolderModel(dir: string, model: PlanModel): AtlasPlan | undefined {
  const old = readPlan(dir);
  if (old && old.model.sha256 !== model.sha256)
    throw new FvizError(
      `output folder '${dir}' holds an atlas of another model (${old.model.file}, sha256 ${old.model.sha256.slice(0, 12)}); this model has sha256 ${model.sha256.slice(0, 12)}: choose another --out`,
      { subject: dir },
    );
  return old;
}

export interface PreparedAtlas {
  plan: AtlasPlan;
  ctx: RenderContext;
}

/**
 * The batch by memory, each lane's share of it; and no larger than leaves every lane a shard of the
 * largest layer (a batch costs about the same per item as one unit on a CPU, so smaller batches lose
 * little, while an idle lane loses a core).
 */
function defaultBatch(classifier: Classifier, layers: PlanLayer[], o: AtlasOptions): number {
  const lanes = o.lanes ?? 1;
  const kept = o.units === undefined ? undefined : parseUnits(o.units).length;
  const units = Math.max(...layers.map((l) => kept ?? l.channels));
  const byMemory = chooseBatch(loadAtBatch(classifier.modelPath, 1, classifier.card.input.size), { freeBytes: freemem() / lanes }).batch;
  return Math.max(1, Math.min(byMemory, Math.ceil(units / lanes)));
}

/** Everything up to the plan: models, layers, methods, batch; the folder is checked and the plan written. */
export async function prepareAtlas(o: AtlasOptions): Promise<PreparedAtlas> {
  const methods = checkMethods(o.methods ?? 'fourier', o.generator);
  const classifier = resolveClassifier(o.model);
  const generator = methods.includes('dgn') ? resolveGenerator(o.generator!) : undefined;
  const model = await planModel(o.model ?? 'embedded', classifier.modelPath);
  const old = checkFolderModel(o.out, model);
  const layers = resolveLayers(classifier, o.layers);
  if (o.shard !== undefined && o.batch === undefined && !old) throw new FvizError('--shard needs --batch N: every shard of an Indexed Job must cut the same plan');
  const batch = o.batch ?? old?.batch ?? defaultBatch(classifier, layers, o);
  const methodBatch = generator && batch > 1 && !runsAtBatch(generator.modelPath, 2) ? { dgn: 1 } : undefined;
  const plan = planAtlas({
    model,
    methodBatch,
    generator: generator ? await planModel(o.generator!, generator.modelPath) : undefined,
    layers,
    methods,
    seeds: o.seeds ?? 1,
    steps: o.steps ?? DEFAULT_STEPS,
    batch,
    units: o.units === undefined ? undefined : parseUnits(o.units),
    dataset: o.dataset,
  });
  createOutputFolder(o.out);
  writeFileAtomic(o.out, PLAN_FILE, `${JSON.stringify(plan, null, 1)}\n`);
  return { plan, ctx: { classifier, generator, device: o.device, threads: o.threads } };
}

/** The models of a plan on this machine, checked by sha256 (a worker with other files refuses to work). */
export async function contextForPlan(plan: AtlasPlan, o: SessionOptions & { model?: string; generator?: string }): Promise<RenderContext> {
  const classifier = resolveClassifier(o.model ?? plan.model.spec);
  const sha = await fileSha256(classifier.modelPath);
  if (sha !== plan.model.sha256)
    throw new FvizError(
      `model file ${classifier.modelPath} has sha256 ${sha.slice(0, 12)}, the atlas needs ${plan.model.file} with sha256 ${plan.model.sha256.slice(0, 12)}: give --model the same file`,
      { subject: classifier.modelPath },
    );
  let generator;
  if (plan.generator) {
    generator = resolveGenerator(o.generator ?? plan.generator.spec);
    const gsha = await fileSha256(generator.modelPath);
    if (gsha !== plan.generator.sha256)
      throw new FvizError(
        `generator file ${generator.modelPath} has sha256 ${gsha.slice(0, 12)}, the atlas needs ${plan.generator.file} with sha256 ${plan.generator.sha256.slice(0, 12)}: give --generator the same file`,
        { subject: generator.modelPath },
      );
  }
  return { classifier, generator, device: o.device, threads: o.threads };
}

/** Renders one shard of either kind (a finished one is skipped). */
export async function runShard(ctx: RenderContext, dir: string, plan: AtlasPlan, shard: Shard): Promise<{ rendered: boolean; ms: number }> {
  const t0 = performance.now();
  if (shard.kind === 'examples') {
    const r = await examplesShard(ctx, dir, plan, shard);
    return { rendered: r.rendered, ms: performance.now() - t0 };
  }
  const r = await renderShard(ctx, dir, plan, shard);
  return { rendered: r.rendered, ms: r.ms };
}

/** Shards whose manifest is missing. */
export function pendingShards(dir: string, plan: AtlasPlan): Shard[] {
  return plan.shards.filter((s) => !existsSync(atlasPaths.shardManifest(dir, s.key)));
}

/** Files a killed writer left under a temporary name (never visible as a render), and the work folder. */
function removeLeftovers(dir: string): void {
  rmSync(join(dir, 'work'), { recursive: true, force: true });
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (TEMP_NAME.test(f)) rmSync(p, { force: true });
    }
  };
  walk(dir);
}

/** The site from a plan whose shards are all finished. */
export function finishAtlas(dir: string, plan: AtlasPlan): string[] {
  const missing = pendingShards(dir, plan);
  if (missing.length) throw new FvizError(`${missing.length} of ${plan.shards.length} shards of '${dir}' are not finished: run fviz atlas (or workers) again`);
  removeLeftovers(dir);
  return writeSite(dir, plan);
}

export interface AtlasResult {
  out: string;
  plan: AtlasPlan;
  rendered: number;
  skipped: number;
  pages: string[];
  ms: number;
}

/** The whole atlas in this process: shards not finished go to lanes (worker threads, one per core by default). */
export async function runAtlas(o: AtlasOptions): Promise<AtlasResult> {
  const t0 = performance.now();
  const lanes = checkLanes(o.lanes ?? defaultLanes());
  const { plan, ctx } = await prepareAtlas({ ...o, lanes });
  if (o.shard !== undefined) {
    const shard = plan.shards[o.shard];
    if (!Number.isInteger(o.shard) || !shard) throw new FvizError(`--shard ${o.shard} is out of range: the plan has shards 0..${plan.shards.length - 1}`);
    const r = await runShard(ctx, o.out, plan, shard).finally(releaseWarmProgram);
    o.onShard?.({ done: 1, total: 1, shard, rendered: r.rendered, ms: r.ms });
    return { out: o.out, plan, rendered: r.rendered ? 1 : 0, skipped: r.rendered ? 0 : 1, pages: [], ms: performance.now() - t0 };
  }
  const pending = new Set(pendingShards(o.out, plan));
  let rendered = 0;
  let done = 0;
  const skipped = plan.shards.length - pending.size;
  for (const shard of plan.shards) if (!pending.has(shard)) o.onShard?.({ done: ++done, total: plan.shards.length, shard, rendered: false, ms: 0 });
  const use = Math.min(lanes, pending.size);
  const pool = use > 1 ? new LanePool(use, { device: o.device, threads: o.threads }) : undefined;
  const setup = { dir: o.out, plan, model: o.model ?? plan.model.spec, generator: o.generator };
  const queue = [...pending];
  const lane = async () => {
    for (let shard = queue.shift(); shard; shard = queue.shift()) {
      const r = pool ? await pool.run(setup, shard) : await runShard(ctx, o.out, plan, shard);
      if (r.rendered) rendered++;
      o.onShard?.({ done: ++done, total: plan.shards.length, shard, rendered: r.rendered, ms: r.ms });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, use) }, lane));
  } finally {
    await pool?.close();
    await releaseWarmProgram();
  }
  const pages = finishAtlas(o.out, plan);
  return { out: o.out, plan, rendered, skipped: skipped + (pending.size - rendered), pages, ms: performance.now() - t0 };
}
