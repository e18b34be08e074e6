// Which DGN-AM settings to recommend in a trained generator's card. Nguyen's numbers (first step 2.0, bounds
// 3x the observed range) were tuned for CaffeNet's fc6 and a generator trained on ImageNet; for another
// code layer the grid below is run on every class logit and judged twice: does the classifier put the
// images in the target class, and do they stay inside what the generator can draw (few values blown out
// to white or black)? Against the data's own rate of blown-out values, when known: the settings that stay
// within 2x of it and still put 90% of the images in their class compete on hits (then saturation); when none
// does, or the rate is unknown, the least saturated of the settings within a small margin of the best hit count
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
  /** The dataset's own fraction of blown-out 8-bit values (saturatedBytes of its pixels). */
  dataSaturated?: number;
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
  /** The data's blown-out rate the choice was held against, and whether the chosen setting is within 2x of it. */
  dataSaturated?: number;
  withinDataRate?: boolean;
}

/** How many times the data's own blown-out rate a chosen setting may reach. */
export const DATA_RATE_MULTIPLE = 2;

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
  return pickDgnSettings(runs, o.dataSaturated);
}

/** The rule of chooseDgnSettings, on finished checks. */
export function pickDgnSettings(runs: { check: DgnCheckResult; boundMultiple: number }[], dataSaturated?: number): DgnChoice {
  if (runs.length === 0) throw new Error('pickDgnSettings: no runs');
  const n = runs[0]!.check.n;
  const margin = Math.max(1, Math.round(0.025 * n));
  const maxHits = Math.max(...runs.map((r) => r.check.hits));
  const inRange = dataSaturated === undefined ? [] : runs.filter((r) => r.check.saturated <= DATA_RATE_MULTIPLE * dataSaturated && r.check.hits >= 0.9 * r.check.n);
  inRange.sort((a, b) => b.check.hits - a.check.hits || a.check.saturated - b.check.saturated || meanProb(b.check) - meanProb(a.check));
  const candidates = runs.filter((r) => r.check.hits >= maxHits - margin);
  candidates.sort((a, b) => a.check.saturated - b.check.saturated || meanProb(b.check) - meanProb(a.check));
  const best = inRange[0] ?? candidates[0]!;
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return {
    check: best.check,
    boundMultiple: best.boundMultiple,
    margin,
    ...(dataSaturated === undefined ? {} : { dataSaturated: round(dataSaturated), withinDataRate: best.check.saturated <= DATA_RATE_MULTIPLE * dataSaturated }),
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
