// The figures of issue "learned priors that stay natural", per method over objectives and seeds: the fraction
// of blown-out values, the diversity of one objective's images (their spread in an independent judge's
// penultimate features, relative to the same spread over real images of the class), how often the judge
// recognises the class, and the spectrum slope; with the same figures for the dataset's own images.
import { evenIndices, imageBytes, type ImageSet } from '../dataset/image-set.ts';
import { openDataset } from '../dataset/open.ts';
import { fromRgbBytes } from '../render/image.ts';
import { imageMetrics, mean } from '../render/metrics.ts';
import { parseObjective } from '../optvis/objectives/parse.ts';
import type { RunMetrics, SummaryRow } from './metrics.ts';
import { shortLabel, type Judge } from './probe.ts';

/**
 * Mean pairwise Euclidean distance between the L2-normalized feature vectors (sqrt(2 - 2 cos) per pair):
 * insensitive to the overall activation scale, which optimized images inflate. Undefined below two vectors.
 */
export function featureDiversity(features: readonly Float32Array[]): number | undefined {
  if (features.length < 2) return undefined;
  const unit = features.map((f) => {
    let n = 0;
    for (const v of f) n += v * v;
    const s = n > 0 ? 1 / Math.sqrt(n) : 0;
    return Float64Array.from(f, (v) => v * s);
  });
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < unit.length; i++)
    for (let j = i + 1; j < unit.length; j++) {
      const a = unit[i]!;
      const b = unit[j]!;
      let d = 0;
      for (let k = 0; k < a.length; k++) d += (a[k]! - b[k]!) ** 2;
      sum += Math.sqrt(d);
      pairs++;
    }
  return sum / pairs;
}

/** The same figures over the dataset's own images: what the methods are held against. */
export interface DataQuality {
  description: string;
  images: number;
  /** Fraction of blown-out values (8-bit levels <= 2 or >= 253). */
  blownOut: number;
  /** Mean spectrum slope. */
  spectrumSlope: number;
  /** Fraction of the images the judge labels as their class (with a judge whose labels name the classes). */
  recognised?: number;
  /** Judge-feature diversity of each class's images, by class name. */
  classDiversity: Record<string, number>;
}

function sameLabel(a: string, b: string): boolean {
  return shortLabel(a).toLowerCase() === shortLabel(b).toLowerCase();
}

/** `perClass` images of each class from the test split (or the folder), spread evenly, measured as the methods are. */
export async function measureData(spec: string, judge: Judge | undefined, o: { perClass?: number; log?: (line: string) => void } = {}): Promise<DataQuality> {
  const size = judge?.size ?? [32, 32];
  const { set, description } = await openDataset(spec, { split: 'test', height: size[0], width: size[1], onStatus: o.log });
  const perClass = o.perClass ?? 40;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < set.n; i++) {
    const list = byClass.get(set.labels[i]!) ?? [];
    list.push(i);
    byClass.set(set.labels[i]!, list);
  }
  let blown = 0;
  const slopes: number[] = [];
  let recognised = 0;
  let judged = 0;
  const classDiversity: Record<string, number> = {};
  for (const [label, all] of [...byClass].sort((a, b) => a[0] - b[0])) {
    const picked = evenIndices(all.length, perClass).map((k) => all[k]!);
    const features: Float32Array[] = [];
    for (const i of picked) {
      const img = imageAt(set, i);
      const m = imageMetrics(img);
      blown += m.saturated;
      slopes.push(m.spectrumSlope);
      if (!judge) continue;
      const j = await judge.judgeWithFeatures(img);
      if (j.features) features.push(j.features);
      judged++;
      if (sameLabel(j.verdict.label, set.classes[label]!)) recognised++;
    }
    const d = featureDiversity(features);
    if (d !== undefined) classDiversity[set.classes[label]!] = d;
  }
  const q: DataQuality = { description, images: slopes.length, blownOut: blown / slopes.length, spectrumSlope: mean(slopes), classDiversity };
  if (judged > 0) q.recognised = recognised / judged;
  return q;
}

function imageAt(set: ImageSet, i: number) {
  const per = imageBytes(set);
  return fromRgbBytes(set.pixels.subarray(i * per, (i + 1) * per), set.height, set.width);
}

/** The class an objective's first term targets, by name (labels resolve an index), or undefined. */
export function objectiveClassName(objective: string, labels: readonly string[] | undefined): string | undefined {
  const t = parseObjective(objective).terms[0]?.target;
  if (!t || t.kind !== 'class') return undefined;
  if (typeof t.cls === 'number') return labels?.[t.cls];
  return labels?.find((l) => sameLabel(l, t.cls as string)) ?? t.cls;
}

/** Whether the judge's top-1 names the objective's class (undefined when the objective is not a class). */
export function recognisedBy(verdictLabel: string, className: string | undefined): boolean | undefined {
  return className === undefined ? undefined : sameLabel(verdictLabel, className);
}

/** Diversity of one (objective, method) over its seeds, and relative to real images of the class. */
export interface DiversityFigures {
  /** Judge-feature diversity of the seeds' images. */
  images: number;
  /** The same over real images of the class (or the unit's top dataset examples), with --dataset. */
  real?: number;
  /** images / real. */
  ratio?: number;
}

export function diversityFigures(features: readonly Float32Array[], real: number | undefined): DiversityFigures | undefined {
  const images = featureDiversity(features);
  if (images === undefined) return undefined;
  const d: DiversityFigures = { images };
  if (real !== undefined && real > 0) {
    d.real = real;
    d.ratio = images / real;
  }
  return d;
}

/** One method over every objective and seed of a comparison. */
export interface MethodQuality {
  method: string;
  images: number;
  blownOut: number;
  spectrumSlope: number;
  /** Fraction of class objectives' images the judge recognises as the class. */
  recognised?: number;
  /** Mean over objectives of the seeds' diversity relative to real images'. */
  diversityRatio?: number;
  /** Mean over objectives of the seeds' judge-feature diversity. */
  diversity?: number;
}

export function methodQuality(metrics: readonly RunMetrics[], summary: readonly SummaryRow[]): MethodQuality[] {
  const methods = [...new Set(metrics.map((m) => m.method))];
  return methods.map((method) => {
    const rows = metrics.filter((m) => m.method === method);
    const q: MethodQuality = { method, images: rows.length, blownOut: mean(rows.map((r) => r.saturated)), spectrumSlope: mean(rows.map((r) => r.spectrumSlope)) };
    const judged = rows.filter((r) => r.recognised !== undefined);
    if (judged.length > 0) q.recognised = judged.filter((r) => r.recognised).length / judged.length;
    const div = summary.filter((s) => s.method === method && s.diversity).map((s) => s.diversity!);
    if (div.length > 0) q.diversity = mean(div.map((d) => d.images));
    const ratios = div.filter((d) => d.ratio !== undefined).map((d) => d.ratio!);
    if (ratios.length > 0) q.diversityRatio = mean(ratios);
    return q;
  });
}
