// The grid of runs a comparison makes: every method on every objective from seeds 0..N-1, each in its
// own folder (DIR/runs/<objective>/<method>/seed-<s>/), and whether a folder already holds that run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import { DATASET_METHODS, PIXEL_METHODS, pixelOptions, type PixelMethod } from '../optvis/render/pixel.ts';
import type { RunRecord } from '../util/run-record.ts';

export const COMPARE_METHODS = ['dgn', 'ppgn', ...PIXEL_METHODS, ...DATASET_METHODS] as const;
export type CompareMethod = (typeof COMPARE_METHODS)[number];

export interface RunSpec {
  objective: string;
  /** Index of the objective in the command's list (rows of the sheet). */
  objectiveIndex: number;
  method: CompareMethod;
  seed: number;
  steps: number;
  /** Steps whose frames the run saves. */
  frames: number[];
  /** Folder relative to the comparison's output folder (forward slashes, so it reads the same everywhere). */
  dir: string;
}

export function isCompareMethod(m: string): m is CompareMethod {
  return (COMPARE_METHODS as readonly string[]).includes(m);
}

/** A folder name for an objective: readable, filesystem-safe, at most 60 characters. */
export function objectiveSlug(objective: string): string {
  const s = objective
    .trim()
    .replace(/\s*\*\s*/g, 'x')
    .replace(/\s+\+\s+/g, '+')
    .replace(/\s+-\s+/g, '~')
    .replace(/:/g, '-')
    .replace(/@/g, '-at-')
    .replace(/[^A-Za-z0-9._+~-]+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, 60);
  return s || 'objective';
}

/** One slug per objective; repeats get -2, -3, ... */
export function objectiveSlugs(objectives: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return objectives.map((o) => {
    const base = objectiveSlug(o);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  });
}

/**
 * Frame steps for a run of `steps` steps: the given ones that fall inside the run, else the start,
 * 1/16, 1/4, 1/2 and the end.
 */
export function framesFor(steps: number, chosen?: readonly number[]): number[] {
  const raw = chosen ? chosen.filter((s) => s <= steps) : [0, steps / 16, steps / 4, steps / 2, steps].map(Math.round);
  return [...new Set(raw)].sort((a, b) => a - b);
}

export interface PlanOptions {
  objectives: string[];
  methods: CompareMethod[];
  seeds: number;
  /** Steps for every method; default: the generator card's (dgn) and the preset's (pixel methods). */
  steps?: number;
  /** Default steps of DGN-AM for the generator in use. */
  dgnSteps: number;
  /** Default steps of PPGN for the generator in use (200). */
  ppgnSteps?: number;
  frames?: number[];
}

export function planRuns(o: PlanOptions): RunSpec[] {
  if (o.objectives.length === 0) throw new FvizError('--objective needs at least one objective');
  if (o.methods.length === 0) throw new FvizError('--methods needs at least one method');
  if (!Number.isInteger(o.seeds) || o.seeds < 1) throw new FvizError(`--seeds ${o.seeds} must be a positive integer`);
  const slugs = objectiveSlugs(o.objectives);
  const runs: RunSpec[] = [];
  o.objectives.forEach((objective, objectiveIndex) => {
    for (const method of o.methods) {
      const steps = o.steps ?? (method === 'dgn' ? o.dgnSteps : method === 'ppgn' ? (o.ppgnSteps ?? 200) : pixelOptions(method as PixelMethod).steps);
      for (let seed = 0; seed < o.seeds; seed++)
        runs.push({ objective, objectiveIndex, method, seed, steps, frames: framesFor(steps, o.frames), dir: `runs/${slugs[objectiveIndex]}/${method}/seed-${seed}` });
    }
  });
  return runs;
}

/** Reads a run folder's run.json, or undefined when there is none or it cannot be parsed. */
export function readRunRecord(dir: string): RunRecord | undefined {
  const p = join(dir, 'run.json');
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

/**
 * The folder holds this very run, finished: run.json (written last) names the same method, objective,
 * seed, steps and models, has a final value, lists every file it wrote (all present) and has the frames
 * the comparison needs.
 */
export function isCompleteRun(dir: string, spec: RunSpec, modelHashes: Record<string, string>): boolean {
  const r = readRunRecord(dir);
  if (!r || !Array.isArray(r.final) || r.final.length === 0 || !Array.isArray(r.outputs)) return false;
  if (r.method !== spec.method || r.objective?.text !== spec.objective || r.seed !== spec.seed) return false;
  if ((r.parameters as { steps?: number } | undefined)?.steps !== spec.steps) return false;
  for (const m of r.models ?? []) if (modelHashes[m.role] !== undefined && modelHashes[m.role] !== m.sha256) return false;
  if (!spec.frames.every((f) => r.frames?.includes(f))) return false;
  return r.outputs.every((f) => existsSync(join(dir, f)));
}
