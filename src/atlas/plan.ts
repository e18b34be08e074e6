// An atlas as a list of shards: every unit (channel) of the chosen layers x method x seed, cut into
// batches. Every render is named by its key, a hash of what makes its bytes (the model's sha256, the
// tensor, the unit, the method and its parameters, the batch it is drawn in, the seed), so the same
// render is never made twice and a folder made by another model is recognised.
import { createHash } from 'node:crypto';
import { FvizError } from '../errors.ts';
import { VERSION } from '../util/run-record.ts';

export interface PlanLayer {
  /** The name as given (a tensor or an alias). */
  name: string;
  /** The tensor it resolves to. */
  tensor: string;
  channels: number;
  /** Per-item shape [C, H, W] or [K]. */
  shape: number[];
}

export interface PlanModel {
  /** As given on the command line ('embedded', a catalog name or a path). */
  spec: string;
  /** The file's name (no folder: the same atlas on another machine has another path). */
  file: string;
  sha256: string;
}

export interface RenderShard {
  kind: 'render';
  key: string;
  layer: string;
  method: string;
  seed: number;
  units: number[];
}

export interface ExamplesShard {
  kind: 'examples';
  key: string;
  layer: string;
  units: number[];
}

export type Shard = RenderShard | ExamplesShard;

export interface AtlasSettings {
  model: PlanModel;
  generator?: PlanModel;
  layers: PlanLayer[];
  methods: string[];
  seeds: number;
  steps: number;
  batch: number;
  /** Channels kept (the same for every layer; undefined: all). */
  units?: number[];
  dataset?: string;
}

export interface AtlasPlan extends AtlasSettings {
  tool: 'fviz';
  kind: 'atlas';
  version: string;
  /** Hash of the settings: names the run's queue entries. */
  id: string;
  shards: Shard[];
  /** Units x methods x seeds. */
  renders: number;
}

const hash = (v: unknown, n = 32): string => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, n);

/** What makes a render's bytes, besides the unit: its key's other parts. */
export interface RenderIdentity {
  model: string;
  generator?: string;
  tensor: string;
  method: string;
  steps: number;
  batch: number;
  /** The units drawn together in one program (an item's result depends on its batch). */
  shardUnits: number[];
  seed: number;
}

/** The content address of one unit's render. */
export function unitKey(id: RenderIdentity, unit: number): string {
  return hash({ v: VERSION, ...id, unit });
}

export function shardKey(parts: Record<string, unknown>): string {
  return hash({ v: VERSION, ...parts });
}

export function renderIdentity(s: AtlasSettings, shard: RenderShard): RenderIdentity {
  const layer = s.layers.find((l) => l.name === shard.layer)!;
  return {
    model: s.model.sha256,
    generator: shard.method === 'dgn' ? s.generator?.sha256 : undefined,
    tensor: layer.tensor,
    method: shard.method,
    steps: s.steps,
    batch: s.batch,
    shardUnits: shard.units,
    seed: shard.seed,
  };
}

/** '0-15,42' -> [0..15, 42]. */
export function parseUnits(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new FvizError(`--units '${text}' must be channel numbers and ranges, e.g. 0-15,42`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new FvizError(`--units: range '${part}' runs backwards`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

/** The plan: layers in order, then methods, seeds and batches of units; examples shards last. */
export function planAtlas(s: AtlasSettings): AtlasPlan {
  if (!Number.isInteger(s.batch) || s.batch < 1) throw new FvizError(`--batch ${s.batch} must be a positive integer`);
  if (!Number.isInteger(s.seeds) || s.seeds < 1) throw new FvizError(`--seeds ${s.seeds} must be a positive integer`);
  if (!Number.isInteger(s.steps) || s.steps < 1) throw new FvizError(`--steps ${s.steps} must be a positive integer`);
  const shards: Shard[] = [];
  let renders = 0;
  for (const layer of s.layers) {
    const units = layerUnits(layer, s.units);
    for (const method of s.methods)
      for (let seed = 0; seed < s.seeds; seed++)
        for (let k = 0; k < units.length; k += s.batch) {
          const part = units.slice(k, k + s.batch);
          const shard: RenderShard = { kind: 'render', key: '', layer: layer.name, method, seed, units: part };
          shard.key = shardKey({ ...renderIdentity(s, shard), kind: 'render' });
          shards.push(shard);
          renders += part.length;
        }
  }
  if (s.dataset)
    for (const layer of s.layers) {
      const units = layerUnits(layer, s.units);
      shards.push({ kind: 'examples', key: shardKey({ kind: 'examples', model: s.model.sha256, tensor: layer.tensor, dataset: s.dataset, units }), layer: layer.name, units });
    }
  return { tool: 'fviz', kind: 'atlas', version: VERSION, id: hash(s, 16), ...s, shards, renders };
}

/** The units of a layer the plan keeps. */
export function layerUnits(layer: PlanLayer, keep?: number[]): number[] {
  const all = Array.from({ length: layer.channels }, (_, c) => c);
  if (!keep) return all;
  const bad = keep.find((u) => u >= layer.channels);
  if (bad !== undefined) throw new FvizError(`--units: unit ${bad} is out of range: '${layer.name}' has units 0..${layer.channels - 1}`);
  return keep;
}
