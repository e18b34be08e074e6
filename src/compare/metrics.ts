// The numbers of a comparison: per image (objective, target activation and its fraction of the dataset's
// maximum, spectral statistics, total variation, the judge's verdict) and their mean and spread over seeds.
import type { Nchw } from '../image/nchw.ts';
import { imageMetrics, meanStd } from '../render/metrics.ts';
import type { JudgeVerdict } from './probe.ts';
import type { DataQuality, DiversityFigures, MethodQuality } from './quality.ts';

export interface RunMetrics {
  objective: string;
  /** The objective's terms as the run resolved them, e.g. ['class:3 (cat)']. */
  terms: string[];
  /** The target unit (the objective's first term, unweighted). */
  unit: string;
  method: string;
  seed: number;
  /** The run's folder, relative to the comparison's folder. */
  run: string;
  /** The objective's final value as the run measured it (float image, before saving). */
  objectiveValue: number;
  /** The target unit's activation on the saved 8-bit image. */
  activation: number;
  /** activation / the dataset's maximum for the unit (with --dataset). */
  activationFraction?: number;
  /** Fraction of luminance power above 1/4 of Nyquist. */
  hfRatio: number;
  /** Radially averaged power-spectrum slope (photographs: about -2). */
  spectrumSlope: number;
  /** Mean absolute neighbour difference. */
  tv: number;
  /** Fraction of values blown out to black or white, 8-bit levels <= 2 or >= 253 (CIFAR-10 test images: 2.6%). */
  saturated: number;
  judge?: JudgeVerdict;
  /** Whether the judge's top-1 is the objective's class (class objectives, with a judge). */
  recognised?: boolean;
}

/** The numeric columns, in table order, with their headers. */
export const NUMERIC_METRICS = [
  ['objectiveValue', 'objective'],
  ['activation', 'activation'],
  ['activationFraction', 'fraction of dataset max'],
  ['hfRatio', 'HF energy ratio'],
  ['spectrumSlope', 'spectrum slope'],
  ['tv', 'total variation'],
  ['saturated', 'blown-out fraction'],
  ['judgeProbability', 'judge probability'],
  ['recognised', 'judge recognises the class'],
] as const;
export type NumericMetric = (typeof NUMERIC_METRICS)[number][0];

export function numericValue(m: RunMetrics, key: NumericMetric): number | undefined {
  if (key === 'judgeProbability') return m.judge?.probability;
  if (key === 'recognised') return m.recognised === undefined ? undefined : Number(m.recognised);
  return m[key];
}

export interface ImageFacts {
  image: Nchw;
  activation: number;
  datasetMax?: number;
  judge?: JudgeVerdict;
  recognised?: boolean;
}

export function runMetrics(base: Omit<RunMetrics, 'activation' | 'hfRatio' | 'spectrumSlope' | 'tv' | 'saturated' | 'activationFraction' | 'judge' | 'recognised'>, f: ImageFacts): RunMetrics {
  const im = imageMetrics(f.image);
  const m: RunMetrics = { ...base, activation: f.activation, hfRatio: im.hfRatio, spectrumSlope: im.spectrumSlope, tv: im.tv, saturated: im.saturated };
  if (f.datasetMax !== undefined) m.activationFraction = f.datasetMax > 0 ? f.activation / f.datasetMax : NaN;
  if (f.judge) m.judge = f.judge;
  if (f.recognised !== undefined) m.recognised = f.recognised;
  return m;
}

export interface SummaryRow {
  objective: string;
  unit: string;
  method: string;
  n: number;
  /** Mean and sample standard deviation over seeds, per numeric metric present. */
  metrics: Partial<Record<NumericMetric, { mean: number; std: number }>>;
  /** How often each judge label was the top-1 (with --judge), most frequent first. */
  judgeLabels?: { label: string; count: number }[];
  /** Spread of the seeds' images in the judge's features (with a judge that has them), and against real images. */
  diversity?: DiversityFigures;
}

/** Mean and spread over seeds for each (objective, method), in the order the rows first appear. */
export function summarize(rows: readonly RunMetrics[]): SummaryRow[] {
  const groups = new Map<string, RunMetrics[]>();
  for (const r of rows) {
    const key = JSON.stringify([r.objective, r.method]);
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  return [...groups.values()].map((list) => {
    const first = list[0]!;
    const metrics: SummaryRow['metrics'] = {};
    for (const [key] of NUMERIC_METRICS) {
      const values = list.map((r) => numericValue(r, key)).filter((v): v is number => v !== undefined);
      if (values.length === list.length) {
        const s = meanStd(values);
        metrics[key] = { mean: s.mean, std: s.std };
      }
    }
    const row: SummaryRow = { objective: first.objective, unit: first.unit, method: first.method, n: list.length, metrics };
    if (list.every((r) => r.judge)) {
      const counts = new Map<string, number>();
      for (const r of list) counts.set(r.judge!.label, (counts.get(r.judge!.label) ?? 0) + 1);
      row.judgeLabels = [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
    }
    return row;
  });
}

function csvField(v: string | number | undefined): string {
  if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per image; empty fields for metrics not measured. */
export function metricsCsv(rows: readonly RunMetrics[]): string {
  const header = ['objective', 'unit', 'terms', 'method', 'seed', 'objective_value', 'activation', 'activation_fraction', 'hf_ratio', 'spectrum_slope', 'tv', 'blown_out', 'judge_class', 'judge_label', 'judge_probability', 'recognised', 'run'];
  const lines = rows.map((r) =>
    [r.objective, r.unit, r.terms.join(' + '), r.method, r.seed, r.objectiveValue, r.activation, r.activationFraction, r.hfRatio, r.spectrumSlope, r.tv, r.saturated, r.judge?.class, r.judge?.label, r.judge?.probability, r.recognised === undefined ? undefined : Number(r.recognised), r.run]
      .map(csvField)
      .join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** One line per (objective, method): the means over seeds and the diversity figures. */
export function summaryCsv(rows: readonly SummaryRow[]): string {
  const header = ['objective', 'unit', 'method', 'seeds', ...NUMERIC_METRICS.map(([k]) => k), 'diversity', 'diversity_real', 'diversity_ratio'];
  const lines = rows.map((r) =>
    [r.objective, r.unit, r.method, r.n, ...NUMERIC_METRICS.map(([k]) => r.metrics[k]?.mean), r.diversity?.images, r.diversity?.real, r.diversity?.ratio].map(csvField).join(','),
  );
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** One line per method over every objective and seed, and a last line for the dataset's own images. */
export function methodsCsv(rows: readonly MethodQuality[], data: DataQuality | undefined): string {
  const header = ['method', 'images', 'blown_out', 'diversity', 'diversity_ratio', 'recognised', 'spectrum_slope'];
  const lines = rows.map((r) => [r.method, r.images, r.blownOut, r.diversity, r.diversityRatio, r.recognised, r.spectrumSlope].map(csvField).join(','));
  if (data) lines.push([`data: ${data.description}`, data.images, data.blownOut, undefined, 1, data.recognised, data.spectrumSlope].map(csvField).join(','));
  return [header.join(','), ...lines].join('\n') + '\n';
}
