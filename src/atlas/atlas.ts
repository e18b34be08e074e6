// `fviz atlas` in one process: resolve the model and layers, plan the shards, render those not finished,
// then write the site. The queue (queue.ts, worker.ts) runs the same plan's shards on many machines.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FvizError, nearestNames } from '../errors.ts';
import type { Classifier } from '../classifier/card.ts';
import { METHODS } from '../optvis/render/presets.ts';
import { loadAtBatch } from '../onnx/prepare.ts';
import { resolveClassifier, resolveGenerator } from '../models/registry.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { createOutputFolder } from '../util/output-folder.ts';
import { fileSha256 } from '../util/run-record.ts';
import { writeAtomic } from '../onnx/proto.ts';
import { chooseBatch } from './batch-size.ts';
import { examplesShard } from './examples.ts';
import { atlasPaths } from './paths.ts';
import { parseUnits, planAtlas, type AtlasPlan, type PlanLayer, type PlanModel, type Shard } from './plan.ts';
import { renderShard, type RenderContext } from './render.ts';
import { writeSite } from './site.ts';

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
  /** Shards rendered side by side in this process, each on one intra-op thread unless --threads says otherwise (default 1). */
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

/** Everything up to the plan: models, layers, methods, batch; the folder is checked and the plan written. */
export async function prepareAtlas(o: AtlasOptions): Promise<PreparedAtlas> {
  const methods = checkMethods(o.methods ?? 'fourier', o.generator);
  const classifier = resolveClassifier(o.model);
  const generator = methods.includes('dgn') ? resolveGenerator(o.generator!) : undefined;
  const model = await planModel(o.model ?? 'embedded', classifier.modelPath);
  const old = checkFolderModel(o.out, model);
  const layers = resolveLayers(classifier, o.layers);
  const batch = o.batch ?? old?.batch ?? chooseBatch(loadAtBatch(classifier.modelPath, 1, classifier.card.input.size)).batch;
  const plan = planAtlas({
    model,
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
  writeAtomic(atlasPaths.plan(o.out), `${JSON.stringify(plan, null, 1)}\n`);
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
      else if (/\.tmp-\d+$/.test(f)) rmSync(p, { force: true });
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

/** The whole atlas in this process. */
export async function runAtlas(o: AtlasOptions): Promise<AtlasResult> {
  const t0 = performance.now();
  const lanes = o.lanes ?? 1;
  if (!Number.isInteger(lanes) || lanes < 1) throw new FvizError(`--lanes ${lanes} must be a positive integer`);
  const { plan, ctx } = await prepareAtlas(o);
  if (lanes > 1 && o.threads === undefined) ctx.threads = 1;
  let rendered = 0;
  let skipped = 0;
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < plan.shards.length) {
      const shard = plan.shards[next++]!;
      const r = await runShard(ctx, o.out, plan, shard);
      if (r.rendered) rendered++;
      else skipped++;
      o.onShard?.({ done: ++done, total: plan.shards.length, shard, rendered: r.rendered, ms: r.ms });
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, plan.shards.length) }, lane));
  const pages = finishAtlas(o.out, plan);
  return { out: o.out, plan, rendered, skipped, pages, ms: performance.now() - t0 };
}
