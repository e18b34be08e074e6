// Writes the architecture twins as .onnx files: node bin/run-ts.js scripts/twins.ts [--seed N] [--dir DIR] [NAME...]
// (names: googlenet, fc6-generator; default all). Files already in the cache are kept.
import { statSync } from 'node:fs';
import { TWIN_BUILDERS, twinCacheDir, twinPath } from '../src/twins/cache.ts';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seed = Number(arg('--seed') ?? 0);
const dir = arg('--dir') ?? twinCacheDir();
const flagValues = new Set([arg('--seed'), arg('--dir')]);
const names = process.argv.slice(2).filter((a) => !a.startsWith('--') && !flagValues.has(a));
for (const name of names.length ? names : Object.keys(TWIN_BUILDERS)) {
  const t0 = performance.now();
  const path = twinPath(name, { seed, dir });
  console.log(`${name}: ${path} (${(statSync(path).size / 2 ** 20).toFixed(1)} MiB, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
