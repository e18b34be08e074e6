// Twins as .onnx files, built once per (name, seed) and shared by tests, benches and the CLI through a
// cache folder ($FVIZ_TWIN_CACHE; default <repo>/.cache/twins in a checkout, ~/.cache/fviz/twins for the
// installed package, whose folder may not be writable).
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { FvizError } from '../errors.ts';
import type { Model } from '../onnx/ir.ts';
import { saveModel } from '../onnx/proto.ts';
import { repoRoot } from '../shared-path.ts';
import { fc6GeneratorTwin } from './fc6-generator.ts';
import { googlenetTwin } from './googlenet.ts';
import { googlenetTorchTwin } from './googlenet-torch.ts';

export const TWIN_BUILDERS: Readonly<Record<string, (seed: number) => Model>> = {
  googlenet: (seed) => googlenetTwin({ seed }),
  'fc6-generator': (seed) => fc6GeneratorTwin({ seed }),
  'googlenet-torch': (seed) => googlenetTorchTwin({ seed }),
};

export type TwinName = 'googlenet' | 'fc6-generator' | 'googlenet-torch';

/** Bumped whenever a twin's layout or weight init changes, so stale cached files are not reused. */
const TWIN_FORMAT = 2; // 2: weights drawn from src/util/rng.ts (mulberry32) instead of splitmix32

export function twinCacheDir(): string {
  const env = process.env['FVIZ_TWIN_CACHE'];
  if (env) return resolve(env);
  if (existsSync(join(repoRoot, 'src'))) return join(repoRoot, '.cache', 'twins');
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'fviz', 'twins');
}

export interface TwinPathOptions {
  seed?: number;
  /** Folder for the file (default twinCacheDir()). */
  dir?: string;
}

/** Path of a twin's .onnx file (batch 1), building and writing it on first use. */
export function twinPath(name: TwinName | string, opts: TwinPathOptions = {}): string {
  const build = TWIN_BUILDERS[name];
  if (!build) throw new FvizError(`unknown twin '${name}': choose one of ${Object.keys(TWIN_BUILDERS).join(', ')}`);
  const seed = opts.seed ?? 0;
  const dir = opts.dir ?? twinCacheDir();
  const path = join(dir, `${name}-v${TWIN_FORMAT}-seed${seed}.onnx`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  saveModel(build(seed), path);
  return path;
}
