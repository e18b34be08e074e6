// The README's class grid: the ten classes (rows) by PPGN, DGN-AM and MaCo, every seed (columns), from the
// folder `npm run bench -- --only quality` leaves (.cache/bench-quality).
//   node bin/run-ts.js scripts/quality-grid.ts [--from .cache/bench-quality] [--methods ppgn,dgn,maco] [--out docs/class-grid.png]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readImage } from '../src/render/image.ts';
import { renderSheet, writeSheet, type SheetRow } from '../src/render/sheet.ts';
import { objectiveSlug } from '../src/compare/plan.ts';
import { resolveClassifier } from '../src/models/registry.ts';
import { repoRoot } from '../src/shared-path.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const from = opt('--from', join(repoRoot, '.cache', 'bench-quality'));
const methods = opt('--methods', 'ppgn,dgn,maco').split(',');
const out = opt('--out', join(repoRoot, 'docs', 'class-grid.png'));
const labels = resolveClassifier('embedded').labels!;

const seedsOf = (label: string) => {
  let n = 0;
  while (existsSync(join(from, 'runs', objectiveSlug(`class:${label}`), methods[0]!, `seed-${n}`, 'result.png'))) n++;
  return n;
};
const seeds = Math.max(...labels.map(seedsOf));
if (seeds === 0) {
  console.error(`no runs in ${from}: run npm run bench -- --only quality first`);
  process.exit(2);
}
const rows: SheetRow[] = [];
for (const label of labels) {
  const cells = [];
  for (const m of methods)
    for (let s = 0; s < seeds; s++) {
      const file = join(from, 'runs', objectiveSlug(`class:${label}`), m, `seed-${s}`, 'result.png');
      cells.push(existsSync(file) ? await readImage(file) : null);
    }
  rows.push({ label, cells });
}
const columns = methods.flatMap((m) => Array.from({ length: seeds }, (_, s) => `${m} ${s}`));
await writeSheet(out, renderSheet({ rows, columns, tile: 64, gap: 4, fontSize: 12, title: `embedded pair, class objectives, ${seeds} seeds per method (defaults)` }));
console.log(`wrote ${out}`);
