// Where an atlas folder keeps each thing. Renders are content-addressed (the unit's key names the file);
// a shard is finished when its manifest exists; the site's pages sit at the folder's root.
import { join } from 'node:path';

export const PLAN_FILE = 'atlas.json';

/** A layer name as a file name: '/' and other characters outside [A-Za-z0-9._-] become '_'. */
export function layerSlug(layer: string): string {
  return layer.replace(/[^A-Za-z0-9._-]/g, '_');
}

export const atlasPaths = {
  plan: (dir: string) => join(dir, PLAN_FILE),
  shardManifest: (dir: string, shardKey: string) => join(dir, 'shards', `${shardKey}.json`),
  /** Per-shard timings: beside the site, not part of it (they differ between runs). */
  shardTiming: (dir: string, shardKey: string) => join(dir, 'timings', `${shardKey}.json`),
  render: (key: string) => `renders/${key.slice(0, 2)}/${key}.png`,
  progression: (key: string) => `renders/${key.slice(0, 2)}/${key}.strip.png`,
  examplesSheet: (layer: string, unit: number) => `examples/${layerSlug(layer)}/${String(unit).padStart(4, '0')}.png`,
  examplesIndex: (layer: string) => `examples/${layerSlug(layer)}/index.json`,
  layerPage: (layer: string) => `layers/${layerSlug(layer)}.html`,
  unitPage: (layer: string, unit: number) => `units/${layerSlug(layer)}/${unit}.html`,
};
