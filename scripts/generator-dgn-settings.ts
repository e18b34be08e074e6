// Re-run the choice of DGN-AM settings on a trained generator's run folder (the same check the trainer runs
// at its end, over another grid): rewrites <run>/generator.card.json (dgn, dgnCheck, boundsInfo), the bounds
// file at the chosen multiple of the observed code range, and <run>/dgn-classes.png. Publish afterwards with
// scripts/train-embedded-generator-publish.ts.
//   node bin/run-ts.js scripts/generator-dgn-settings.ts [--from .cache/train-generator] [--start-steps 0.25,0.5,1] [--bound-multiples 1,1.5,3] [--seeds 4] [--data cifar10]
//   --data: hold the choice against the dataset's own rate of blown-out values (its test split)
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GeneratorCard } from '../src/generator/card.ts';
import { writeAtomic } from '../src/onnx/proto.ts';
import { repoRoot } from '../src/shared-path.ts';
import { readBoundsFile } from '../src/train/generator/bounds.ts';
import { chooseDgnSettings } from '../src/train/generator/dgn-settings.ts';
import { openDataset } from '../src/dataset/open.ts';
import { saturatedBytes } from '../src/render/metrics.ts';
import { BOUNDS_FILE, CODE_RANGE_FILE, GENERATOR_CARD_FILE, GENERATOR_FILE, recordDgnChoice } from '../src/train/generator/export.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : fallback;
};
const fail = (msg: string): never => {
  console.error(msg);
  process.exit(2);
};
const numbers = (name: string, fallback: string) => {
  const v = opt(name, fallback).split(',').map(Number);
  if (v.some((x) => !(x > 0))) fail(`${name} '${opt(name, fallback)}' must be comma-separated positive numbers`);
  return v;
};
const from = resolve(opt('--from', join(repoRoot, '.cache', 'train-generator')));
const cardPath = join(from, GENERATOR_CARD_FILE);
for (const f of [GENERATOR_FILE, GENERATOR_CARD_FILE]) if (!existsSync(join(from, f))) fail(`no ${f} in ${from}: give the run folder of fviz train generator with --from`);
const card = JSON.parse(readFileSync(cardPath, 'utf8')) as GeneratorCard & Record<string, any>;
const info = card['boundsInfo'] as { multiple?: number; upper?: string } | undefined;
// The trainer keeps the observed range in code-range.txt; run folders from before it derive it from the
// bounds file and the multiple the card states (in words on cards older than boundsInfo.multiple).
const rangePath = join(from, CODE_RANGE_FILE);
let observedRange: Float32Array;
if (existsSync(rangePath)) observedRange = readBoundsFile(rangePath);
else {
  const multiple = info?.multiple ?? Number(/^([\d.]+) x /.exec(info?.upper ?? '')?.[1] ?? NaN);
  if (!(multiple > 0)) fail(`${cardPath}: no ${CODE_RANGE_FILE}, and boundsInfo does not say which multiple of the observed range ${BOUNDS_FILE} holds`);
  observedRange = readBoundsFile(join(from, BOUNDS_FILE)).map((v) => v / multiple);
}
const images = Number(/over (\d+) training images/.exec(info?.upper ?? '')?.[1]) || undefined;
const classifier = resolve(repoRoot, card.classifier.model);
const seeds = Number(opt('--seeds', '4'));
if (!Number.isInteger(seeds) || seeds < 1) fail(`--seeds '${opt('--seeds', '4')}' must be a positive integer`);
const dataSpec = opt('--data', '');
const dataSaturated = dataSpec ? saturatedBytes((await openDataset(dataSpec, { split: 'test' })).set.pixels) : undefined;
const startAt = performance.now();
const choice = await chooseDgnSettings({
  classifier,
  generator: join(from, GENERATOR_FILE),
  base: { steps: card.dgn?.steps ?? 200, startStep: card.dgn?.startStep ?? 0.5, endStep: card.dgn?.endStep ?? 1e-10, l2: card.dgn?.l2 ?? 0.99 },
  startSteps: numbers('--start-steps', '0.25,0.5,1'),
  boundMultiples: numbers('--bound-multiples', '1,1.5,3'),
  observedRange,
  seeds,
  dataSaturated,
  onStatus: (m) => console.error(m),
});
await recordDgnChoice(card, choice, { out: from, observedRange, images });
card['dgnCheck'].command = ['node bin/run-ts.js scripts/generator-dgn-settings.ts', ...args].join(' ');
writeAtomic(cardPath, `${JSON.stringify(card, null, 2)}\n`);
for (const g of choice.grid)
  console.log(`start ${g.startStep} bounds ${g.boundMultiple}x: ${g.hits}/${g.images} in the target class, mean p ${g.meanProb}, ${(100 * g.saturated).toFixed(1)}% saturated`);
console.log(
  `chosen: start step ${choice.check.settings.startStep}, bounds ${choice.boundMultiple}x (${choice.check.hits}/${choice.check.n}, ${(100 * choice.check.saturated).toFixed(1)}% saturated); ` +
    `wrote ${cardPath}, ${join(from, BOUNDS_FILE)}, ${join(from, 'dgn-classes.png')} in ${((performance.now() - startAt) / 60000).toFixed(1)} min`,
);
