// A layer's dataset side of the atlas: one scan of the dataset (analysis/examples.ts), then per unit its
// sheet (top and bottom images with receptive-field crops, and samples across the activation range: the
// unit's activation spectrum) and its statistics, copied into the atlas under stable names.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { datasetExamples } from '../analysis/examples.ts';
import { atlasPaths } from './paths.ts';
import type { AtlasSettings, ExamplesShard } from './plan.ts';
import { writeFileAtomic, type RenderContext } from './render.ts';

export interface UnitExamples {
  unit: number;
  sheet: string;
  stats: { count: number; mean: number; std: number; min: number | null; max: number | null; positive: number };
  top: { file: string; class?: string; value: number | null }[];
}

export interface ExamplesManifest {
  shard: string;
  kind: 'examples';
  layer: string;
  dataset: string;
  images: number;
  units: UnitExamples[];
}

export async function examplesShard(ctx: RenderContext, dir: string, s: AtlasSettings, shard: ExamplesShard): Promise<{ manifest: ExamplesManifest; rendered: boolean }> {
  const manifestPath = atlasPaths.shardManifest(dir, shard.key);
  if (existsSync(manifestPath)) return { manifest: JSON.parse(readFileSync(manifestPath, 'utf8')) as ExamplesManifest, rendered: false };
  const work = join(dir, 'work', `${shard.key}-${process.pid}`);
  try {
    const r = await datasetExamples({
      model: ctx.classifier.modelPath,
      layer: shard.layer,
      dataset: s.dataset!,
      out: work,
      channels: shard.units,
      device: ctx.device,
      threads: ctx.threads,
      checkpointEvery: 1_000_000,
    });
    const units: UnitExamples[] = [];
    for (const u of shard.units) {
      const ch = r.index.channels[u]!;
      const sheet = atlasPaths.examplesSheet(shard.layer, u);
      writeFileAtomic(dir, sheet, readFileSync(join(work, ch.sheet!)));
      units.push({ unit: u, sheet, stats: ch.stats, top: ch.top.map((e) => ({ file: e.file, class: e.class, value: e.value })) });
    }
    const manifest: ExamplesManifest = { shard: shard.key, kind: 'examples', layer: shard.layer, dataset: s.dataset!, images: r.index.dataset.images, units };
    writeFileAtomic(dir, `shards/${shard.key}.json`, `${JSON.stringify(manifest, null, 1)}\n`);
    return { manifest, rendered: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
