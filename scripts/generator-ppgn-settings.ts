// The embedded pair's PPGN-h settings, chosen by measurement: every candidate samples the ten classes x N seeds
// (batch members), and the embedded judge (a VGG-style CIFAR-10 classifier never optimized against) scores the
// images as `fviz compare` does: blown-out values (final and mid-chain) against CIFAR-10's own rate, judge-
// feature diversity against real images of the class, recognition, spectrum slope. The chosen settings go into
// the generator card as `ppgn`, the table as `ppgnChoice`.
//   node bin/run-ts.js scripts/generator-ppgn-settings.ts [--seeds 4] [--grid JSON] [--write]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveClassifier, resolveGenerator } from '../src/models/registry.ts';
import { visualizePpgn } from '../src/optvis/render/visualize-ppgn.ts';
import type { PpgnSettings } from '../src/optvis/param/ppgn.ts';
import { Judge } from '../src/compare/probe.ts';
import { diversityFigures, measureData, recognisedBy } from '../src/compare/quality.ts';
import { readImage } from '../src/render/image.ts';
import { imageMetrics, mean } from '../src/render/metrics.ts';
import { writeAtomic } from '../src/onnx/proto.ts';
import { repoRoot } from '../src/shared-path.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const seeds = Number(arg('--seeds') ?? 4);
const DEFAULT_GRID: Candidate[] = [
  { lr: 0.03, eps1: 1e-5, eps2: 1, eps3: 0 },
  { lr: 0.03, eps1: 1, eps2: 1, eps3: 0 },
  { lr: 0.03, eps1: 1, eps2: 1, eps3: 1 },
  { lr: 0.03, eps1: 1, eps2: 1, eps3: 3 },
  { lr: 0.05, eps1: 1, eps2: 1, eps3: 3 },
];
/**
 * A candidate: sampler settings, optionally with the std of the random initial code (initStd) or a bank of
 * initial codes (bank: a file of float32 codes, codeSize each, taken in turn by class and seed).
 */
type Candidate = Partial<PpgnSettings> & { initStd?: number; bank?: string };
const grid = (arg('--grid') ? JSON.parse(arg('--grid')!) : DEFAULT_GRID) as Candidate[];
const out = join(repoRoot, '.cache', 'ppgn-settings');

const banks = new Map<string, Float32Array>();
/** `count` codes of the bank file from code `first` on (wrapping around), one after another. */
function bankCodes(file: string, first: number, count: number): Float32Array {
  if (!banks.has(file)) banks.set(file, new Float32Array(readFileSync(file).buffer.slice(0)));
  const codes = banks.get(file)!;
  const unit = generator.card.codeSize;
  const n = codes.length / unit;
  const init = new Float32Array(unit * count);
  for (let k = 0; k < count; k++) {
    const j = (first + k) % n;
    init.set(codes.subarray(j * unit, (j + 1) * unit), k * unit);
  }
  return init;
}

const classifier = resolveClassifier('embedded');
const generator = resolveGenerator('embedded');
const labels = classifier.labels!;
const judge = await Judge.create(resolveClassifier('embedded-judge'));
console.error('measuring CIFAR-10 test images with the judge');
const data = await measureData('cifar10', judge);

interface Figures {
  settings: Candidate;
  blownOut: number;
  blownOutMidChain: number;
  recognised: number;
  diversityRatio: number;
  spectrumSlope: number;
  seconds: number;
}

const results: Figures[] = [];
for (const [c, cand] of grid.entries()) {
  const t0 = performance.now();
  const blown: number[] = [];
  const mid: number[] = [];
  const slopes: number[] = [];
  const ratios: number[] = [];
  let recognised = 0;
  for (const label of labels) {
    const dir = join(out, `c${c}`, label);
    const steps = cand.steps ?? 200;
    const { initStd, bank, ...settings } = cand;
    const init = bank ? bankCodes(bank, labels.indexOf(label) * seeds, seeds) : undefined;
    await visualizePpgn({ model: 'embedded', generator: 'embedded', objective: `class:${label}`, batch: seeds, seed: 1, settings, initStd, init, out: dir, frames: [Math.round(steps / 4), Math.round(steps / 2), steps] });
    const features: Float32Array[] = [];
    for (let k = 0; k < seeds; k++) {
      const file = join(dir, k === 0 ? 'result.png' : `result-${k}.png`);
      const m = imageMetrics(await readImage(file));
      blown.push(m.saturated);
      slopes.push(m.spectrumSlope);
      const j = await judge.judgeFile(file);
      if (j.features) features.push(j.features);
      if (recognisedBy(j.verdict.label, label)) recognised++;
      for (const step of [Math.round(steps / 4), Math.round(steps / 2)]) {
        const frame = join(dir, 'frames', `step-${String(step).padStart(5, '0')}${seeds > 1 ? `-${k}` : ''}.png`);
        if (existsSync(frame)) mid.push(imageMetrics(await readImage(frame)).saturated);
      }
    }
    const d = diversityFigures(features, data.classDiversity[label]);
    if (d?.ratio !== undefined) ratios.push(d.ratio);
  }
  const f: Figures = {
    settings: cand,
    blownOut: mean(blown),
    blownOutMidChain: mean(mid),
    recognised: recognised / (labels.length * seeds),
    diversityRatio: mean(ratios),
    spectrumSlope: mean(slopes),
    seconds: Math.round((performance.now() - t0) / 1000),
  };
  results.push(f);
  console.log(JSON.stringify(f));
}
await judge.release();

// Within the targets of blow-outs (2x the data's rate) and recognition (90%), the most diverse; else the
// candidate that misses the targets by least.
const within = (f: Figures) => f.blownOut <= 2 * data.blownOut && f.recognised >= 0.9;
const miss = (f: Figures) => Math.max(0, f.blownOut / (2 * data.blownOut) - 1) + Math.max(0, 0.9 - f.recognised) + Math.max(0, 0.8 - f.diversityRatio);
const candidates = results.filter(within);
const chosen = candidates.length > 0 ? candidates.sort((a, b) => b.diversityRatio - a.diversityRatio)[0]! : [...results].sort((a, b) => miss(a) - miss(b))[0]!;
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const describe = (f: Figures) =>
  `blown ${pct(f.blownOut)} (mid-chain ${pct(f.blownOutMidChain)}), judge recognises ${pct(f.recognised)}, diversity ${f.diversityRatio.toFixed(3)} of real, slope ${f.spectrumSlope.toFixed(2)}`;
console.log(`data: blown ${pct(data.blownOut)}, judge accuracy ${pct(data.recognised ?? NaN)}, slope ${data.spectrumSlope.toFixed(2)}`);
console.log(`chosen: ${JSON.stringify(chosen.settings)}: ${describe(chosen)}`);

if (args.includes('--write')) {
  const cardPath = generator.modelPath.replace(/\.onnx$/, '.card.json');
  const card = JSON.parse(readFileSync(cardPath, 'utf8')) as Record<string, unknown>;
  const base = (card['ppgn'] ?? {}) as Partial<PpgnSettings>;
  card['ppgn'] = { ...base, ...chosen.settings, lrEnd: chosen.settings.lr ?? base.lr, normalize: chosen.settings.normalize ?? base.normalize ?? true, steps: chosen.settings.steps ?? base.steps ?? 200 };
  card['ppgnChoice'] = {
    how: `10 classes x ${seeds} seeds (batch members, seed 1), ${chosen.settings.steps ?? 200} steps; scored by the embedded judge (VGG-style, never optimized against) as fviz compare does: blown out = 8-bit value <= 2 or >= 253 (final image; mid-chain = frames at 1/4 and 1/2), diversity = mean pairwise distance of the seeds' L2-normalized judge features over the same for ${data.images / labels.length} real test images of the class, recognised = the judge's top-1 is the class. Rule: the most diverse setting with blow-outs <= 2x the data's rate and recognition >= 90%. Made by scripts/generator-ppgn-settings.ts.`,
    data: `CIFAR-10 test (${data.images} images): blown ${pct(data.blownOut)}, judge accuracy ${pct(data.recognised ?? NaN)}, slope ${data.spectrumSlope.toFixed(2)}`,
    candidates: results.map((f) => ({ settings: f.settings, result: describe(f) })),
    chosen: chosen.settings,
  };
  writeAtomic(cardPath, JSON.stringify(card, null, 2) + '\n');
  console.log(`wrote ppgn and ppgnChoice into ${cardPath}`);
}
