// `npm run bench -- --only quality`: how natural the learned priors are on the embedded pair, judged by the
// embedded judge (a VGG-style CIFAR-10 classifier trained apart, never optimized against). Every method on the
// ten classes x 4 seeds with its defaults, through `fviz compare --judge embedded-judge --dataset cifar10`; one
// line per method and a targets line for the best learned prior. Not a timed bench: it runs only when named.
// FVIZ_QUALITY_METHODS=ppgn,dgn,maco limits the methods; FVIZ_QUALITY_RESUME=1 keeps the finished runs.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { compare } from '../src/compare/index.ts';
import { PIXEL_METHODS } from '../src/optvis/render/presets.ts';
import { resolveClassifier } from '../src/models/registry.ts';
import type { MethodQuality } from '../src/compare/quality.ts';
import { repoRoot } from '../src/shared-path.ts';
import { round, type Bench } from './registry.ts';

/** The targets for the best learned prior, against the dataset's own figures. */
const TARGETS = { blownOutToData: 2, diversityRatio: 0.8, recognised: 0.9, slopeDistance: 0.3 };

export const qualityBench: Bench = {
  key: 'quality',
  name: 'quality',
  description: 'blown-out values, judge-feature diversity, judge recognition and spectrum slope of every method, 10 classes x 4 seeds (minutes; only when named)',
  optIn: true,
  async run(ctx) {
    const out = process.env['FVIZ_QUALITY_OUT'] ?? join(repoRoot, '.cache', 'bench-quality');
    if (process.env['FVIZ_QUALITY_RESUME'] !== '1') rmSync(out, { recursive: true, force: true });
    const labels = resolveClassifier('embedded').labels ?? [];
    const seeds = Number(process.env['FVIZ_QUALITY_SEEDS'] ?? 4);
    const t0 = performance.now();
    let lastLog = 0;
    const res = await compare({
      objectives: labels.map((l) => `class:${l}`),
      generator: 'embedded',
      methods: process.env['FVIZ_QUALITY_METHODS']?.split(',') ?? ['ppgn', 'dgn', 'maco', ...PIXEL_METHODS],
      seeds,
      judge: 'embedded-judge',
      dataset: 'cifar10',
      out,
      log: (line) => ctx.log(line),
      progress: (p) => {
        const now = performance.now();
        if (now - lastLog < 10_000) return;
        lastLog = now;
        ctx.log(`quality: run ${p.run}/${p.runs} (${p.spec.method} ${p.spec.objective} seed ${p.spec.seed}), ${((100 * p.doneSteps) / p.totalSteps).toFixed(1)}% of the steps`);
      },
    });
    const data = res.data!;
    const line = (m: MethodQuality) => ({
      bench: 'quality',
      method: m.method,
      images: m.images,
      blown_out: round(m.blownOut, 4),
      blown_out_to_data: round(m.blownOut / data.blownOut, 2),
      diversity_ratio: m.diversityRatio === undefined ? null : round(m.diversityRatio, 3),
      recognised: m.recognised === undefined ? null : round(m.recognised, 3),
      spectrum_slope: round(m.spectrumSlope, 3),
      slope_distance: round(Math.abs(m.spectrumSlope - data.spectrumSlope), 3),
    });
    for (const m of res.methods) ctx.emit(line(m));
    ctx.emit({
      bench: 'quality_data',
      dataset: data.description,
      images: data.images,
      blown_out: round(data.blownOut, 4),
      judge_accuracy: data.recognised === undefined ? null : round(data.recognised, 3),
      spectrum_slope: round(data.spectrumSlope, 3),
    });
    const meets = (m: MethodQuality) => ({
      blown_out: m.blownOut <= TARGETS.blownOutToData * data.blownOut,
      diversity: (m.diversityRatio ?? 0) >= TARGETS.diversityRatio,
      recognised: (m.recognised ?? 0) >= TARGETS.recognised,
      slope: Math.abs(m.spectrumSlope - data.spectrumSlope) <= TARGETS.slopeDistance,
    });
    const priors = res.methods.filter((m) => m.method === 'ppgn' || m.method === 'dgn');
    const score = (m: MethodQuality) => Object.values(meets(m)).filter(Boolean).length;
    const best = [...priors].sort((a, b) => score(b) - score(a))[0]!;
    const ok = meets(best);
    ctx.emit({
      ...line(best),
      bench: 'quality_targets',
      best_learned_prior: best.method,
      targets: { blown_out_to_data: `<= ${TARGETS.blownOutToData}`, diversity_ratio: `>= ${TARGETS.diversityRatio}`, recognised: `>= ${TARGETS.recognised}`, slope_distance: `<= ${TARGETS.slopeDistance}` },
      meets: ok,
      all_met: Object.values(ok).every(Boolean),
      report: join(out, 'report.html'),
      seconds: round((performance.now() - t0) / 1000, 1),
    });
  },
};
