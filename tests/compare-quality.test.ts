// The figures of the quality comparison: judge-feature diversity, recognition, and their aggregation per method.
import { describe, expect, it } from 'vitest';
import { summarize, summaryCsv, methodsCsv, type RunMetrics } from '../src/compare/metrics.ts';
import { diversityFigures, featureDiversity, methodQuality, objectiveClassName, recognisedBy } from '../src/compare/quality.ts';

const LABELS = ['airplane', 'automobile', 'bird', 'cat'];

describe('featureDiversity', () => {
  it('is the mean pairwise distance of the L2-normalized vectors, blind to scale', () => {
    const a = Float32Array.of(3, 0, 0);
    const b = Float32Array.of(0, 5, 0);
    const c = Float32Array.of(0, 0, 0.5);
    // every pair orthogonal unit vectors: distance sqrt(2)
    expect(featureDiversity([a, b, c])).toBeCloseTo(Math.SQRT2, 12);
    // the same directions at other scales: the same figure
    expect(featureDiversity([Float32Array.of(30, 0, 0), Float32Array.of(0, 0.1, 0), c])).toBeCloseTo(Math.SQRT2, 12);
    // identical directions: no diversity
    expect(featureDiversity([a, Float32Array.of(1, 0, 0)])).toBe(0);
    // 60 degrees apart: chord length 1
    expect(featureDiversity([Float32Array.of(1, 0), Float32Array.of(0.5, Math.sqrt(3) / 2)])).toBeCloseTo(1, 6);
    expect(featureDiversity([a])).toBeUndefined();
  });

  it('relates the seeds to real images', () => {
    const d = diversityFigures([Float32Array.of(1, 0), Float32Array.of(0, 1)], 2 * Math.SQRT2)!;
    expect(d.images).toBeCloseTo(Math.SQRT2, 12);
    expect(d.ratio).toBeCloseTo(0.5, 12);
    expect(diversityFigures([Float32Array.of(1, 0), Float32Array.of(0, 1)], undefined)!.ratio).toBeUndefined();
  });
});

describe('recognition', () => {
  it("finds an objective's class by index or name and compares it with the judge's label", () => {
    expect(objectiveClassName('class:3', LABELS)).toBe('cat');
    expect(objectiveClassName('class:Cat + 0.1*class:1', LABELS)).toBe('cat');
    expect(objectiveClassName('conv1:3', LABELS)).toBeUndefined();
    expect(recognisedBy('cat', 'cat')).toBe(true);
    expect(recognisedBy('dog', 'cat')).toBe(false);
    expect(recognisedBy('cat', undefined)).toBeUndefined();
  });
});

describe('methodQuality', () => {
  const row = (objective: string, method: string, seed: number, saturated: number, recognised: boolean): RunMetrics => ({
    objective,
    terms: [objective],
    unit: objective,
    method,
    seed,
    run: `runs/${objective}/${method}/seed-${seed}`,
    objectiveValue: 1,
    activation: 1,
    hfRatio: 0.1,
    spectrumSlope: method === 'a' ? -2 : -3,
    tv: 0.1,
    saturated,
    recognised,
  });

  it('averages blow-outs and slopes over images, recognition over class images, diversity over objectives', () => {
    const metrics = [row('class:1', 'a', 0, 0.1, true), row('class:1', 'a', 1, 0.3, false), row('class:2', 'a', 0, 0.2, true), row('class:2', 'a', 1, 0, true), row('class:1', 'b', 0, 0.5, false)];
    const summary = summarize(metrics);
    summary[0]!.diversity = { images: 0.4, real: 0.8, ratio: 0.5 };
    summary[1]!.diversity = { images: 0.6, real: 0.6, ratio: 1 };
    const [a, b] = methodQuality(metrics, summary);
    expect(a!.method).toBe('a');
    expect(a!.images).toBe(4);
    expect(a!.blownOut).toBeCloseTo(0.15, 12);
    expect(a!.recognised).toBe(0.75);
    expect(a!.diversity).toBeCloseTo(0.5, 12);
    expect(a!.diversityRatio).toBeCloseTo(0.75, 12);
    expect(a!.spectrumSlope).toBe(-2);
    expect(b!.recognised).toBe(0);
    expect(b!.diversity).toBeUndefined();
    expect(summary[0]!.metrics.recognised!.mean).toBe(0.5);

    const csv = methodsCsv([a!, b!], { description: 'data', images: 10, blownOut: 0.02, spectrumSlope: -2.5, recognised: 0.9, classDiversity: {} }).trim().split('\n');
    expect(csv[0]).toBe('method,images,blown_out,diversity,diversity_ratio,recognised,spectrum_slope');
    expect(csv[2]).toBe('b,1,0.5,,,0,-3');
    expect(csv[3]).toBe('data: data,10,0.02,,1,0.9,-2.5');
    const sc = summaryCsv(summary).trim().split('\n');
    expect(sc[0]!.endsWith('diversity,diversity_real,diversity_ratio')).toBe(true);
    expect(sc[1]!.endsWith(',0.4,0.8,0.5')).toBe(true);
  });
});
