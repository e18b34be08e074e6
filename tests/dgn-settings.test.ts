// The rule that picks the DGN-AM settings a generator card recommends, and the saturation measure it uses.
import { describe, expect, it } from 'vitest';
import type { DgnCheckResult } from '../src/train/generator/dgn-check.ts';
import { saturatedFraction } from '../src/render/metrics.ts';
import { pickDgnSettings } from '../src/train/generator/dgn-settings.ts';

function check(startStep: number, hits: number, saturated: number, prob = 0.9): DgnCheckResult {
  return {
    settings: { steps: 200, startStep, endStep: 1e-10, l2: 0.99 },
    seeds: 4,
    init: 'random',
    classes: [{ class: 0, label: 'a', hits, n: 40, meanProb: prob, logitStart: 0, logitEnd: 1, saturated }],
    hits,
    n: 40,
    saturated,
    images: [],
    msPerStep: 1,
  };
}

describe('pickDgnSettings', () => {
  it('prefers the least saturated setting among those within the hit margin of the best', () => {
    const c = pickDgnSettings([
      { check: check(2, 40, 0.4), boundMultiple: 3 },
      { check: check(0.5, 39, 0.1), boundMultiple: 1.5 },
      { check: check(0.25, 30, 0.01), boundMultiple: 1 },
    ]);
    expect(c.margin).toBe(1);
    expect(c.check.settings.startStep).toBe(0.5);
    expect(c.boundMultiple).toBe(1.5);
    expect(c.grid.map((g) => g.hits)).toEqual([40, 39, 30]);
  });

  it('breaks a saturation tie by the mean probability of the target class', () => {
    const c = pickDgnSettings([
      { check: check(1, 40, 0.05, 0.7), boundMultiple: 3 },
      { check: check(0.5, 40, 0.05, 0.95), boundMultiple: 3 },
    ]);
    expect(c.check.settings.startStep).toBe(0.5);
  });
});

describe('saturatedFraction', () => {
  it('counts values within one 8-bit level of black or white', () => {
    expect(saturatedFraction(Float32Array.from([0, 0.5, 1, 0.003, 0.997, 0.01]))).toBeCloseTo(4 / 6, 10);
    expect(saturatedFraction(Float32Array.from([0.1, 0.9]))).toBe(0);
  });
});
