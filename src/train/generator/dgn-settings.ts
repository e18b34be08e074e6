// Which DGN-AM settings to recommend in a trained generator's card. Nguyen's numbers (first step 2.0, bounds
// 3x the observed range) were tuned for CaffeNet's fc6 and a generator trained on ImageNet; for another
// code layer the grid below is run on every class logit and judged twice: does the classifier put the
// images in the target class, and do they stay inside what the generator can draw (few values blown out
// to white or black)? Among the settings within a small margin of the best hit count, the least saturated
// wins (then the highest mean probability).
import type { DgnSettings } from '../../generator/card.ts';
import { dgnClassCheck, type DgnCheckResult } from './dgn-check.ts';

export interface DgnGridOptions {
  classifier: string;
  generator: string;
  base: DgnSettings;
  startSteps: number[];
  /** Multiples of the observed code range to try as upper bounds. */
  boundMultiples: number[];
  /** Per unit, the observed range over the training set (upper bound = multiple x this). */
  observedRange: Float32Array;
  seeds?: number;
  threads?: number;
  onStatus?: (msg: string) => void;
}

export interface DgnGridPoint {
  startStep: number;
  boundMultiple: number;
  hits: number;
  images: number;
  meanProb: number;
  saturated: number;
}

export interface DgnChoice {
  check: DgnCheckResult;
  boundMultiple: number;
  grid: DgnGridPoint[];
  /** Hits a setting may trail the best by and still be chosen. */
  margin: number;
}

const meanProb = (c: DgnCheckResult) => c.classes.reduce((a, k) => a + k.meanProb, 0) / Math.max(1, c.classes.length);

/** Runs the DGN-AM class check over start steps x bound multiples and picks the recommendation. */
export async function chooseDgnSettings(o: DgnGridOptions): Promise<DgnChoice> {
  const seeds = o.seeds ?? 4;
  const runs: { check: DgnCheckResult; boundMultiple: number }[] = [];
  for (const boundMultiple of o.boundMultiples)
    for (const startStep of o.startSteps) {
      const settings = { ...o.base, startStep };
      const upper = Float32Array.from(o.observedRange, (v) => v * boundMultiple);
      o.onStatus?.(`DGN-AM check: every class logit, ${seeds} random codes each, ${settings.steps} steps from step size ${startStep}, bounds ${boundMultiple} x the observed range`);
      const check = await dgnClassCheck({
        classifier: o.classifier,
        generator: o.generator,
        settings,
        seeds,
        upper,
        lower: new Float32Array(upper.length),
        threads: o.threads,
        onClass: (c) => o.onStatus?.(`  ${c.label}: ${c.hits}/${c.n} in the target class (mean p ${c.meanProb.toFixed(3)}, ${(100 * c.saturated).toFixed(1)}% saturated)`),
      });
      runs.push({ check, boundMultiple });
    }
  return pickDgnSettings(runs);
}

/** The rule of chooseDgnSettings, on finished checks. */
export function pickDgnSettings(runs: { check: DgnCheckResult; boundMultiple: number }[]): DgnChoice {
  if (runs.length === 0) throw new Error('pickDgnSettings: no runs');
  const n = runs[0]!.check.n;
  const margin = Math.max(1, Math.round(0.025 * n));
  const maxHits = Math.max(...runs.map((r) => r.check.hits));
  const candidates = runs.filter((r) => r.check.hits >= maxHits - margin);
  candidates.sort((a, b) => a.check.saturated - b.check.saturated || meanProb(b.check) - meanProb(a.check));
  const best = candidates[0]!;
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    check: best.check,
    boundMultiple: best.boundMultiple,
    margin,
    grid: runs.map((r) => ({
      startStep: r.check.settings.startStep,
      boundMultiple: r.boundMultiple,
      hits: r.check.hits,
      images: r.check.n,
      meanProb: round(meanProb(r.check)),
      saturated: round(r.check.saturated),
    })),
  };
}
