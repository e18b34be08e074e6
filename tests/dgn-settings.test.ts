// The rule that picks the DGN-AM settings a generator card recommends, and the saturation measure it uses.
import { describe, expect, it } from 'vitest';
import type { DgnCheckResult } from '../src/train/generator/dgn-check.ts';
import { saturatedBytes, saturatedFraction } from '../src/render/metrics.ts';
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

  it("against the data's blown-out rate: gives up hits to stay within 2x of it, and says when nothing does", () => {
    const runs = [
      { check: check(1, 40, 0.2), boundMultiple: 3 },
      { check: check(0.5, 38, 0.05), boundMultiple: 1.5 },
      { check: check(0.25, 37, 0.03), boundMultiple: 1 },
      { check: check(0.1, 30, 0.01), boundMultiple: 1 },
    ];
    // without the data's rate: the least saturated within one hit of the best
    expect(pickDgnSettings(runs).check.settings.startStep).toBe(1);
    // data rate 3%: 0.5 and 0.25 are within 6% and keep >= 36 hits; 0.5 has more hits; 0.1 has too few
    const c = pickDgnSettings(runs, 0.03);
    expect(c.check.settings.startStep).toBe(0.5);
    expect(c.withinDataRate).toBe(true);
    // data rate 0.5%: nothing within 1% with 36 hits: the old rule, and the card can say so
    const d = pickDgnSettings(runs, 0.005);
    expect(d.check.settings.startStep).toBe(1);
    expect(d.withinDataRate).toBe(false);
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
  it('counts 8-bit values <= 2 or >= 253 (saturatedBytes) as saturatedFraction counts their floats', () => {
    const bytes = Uint8Array.from([0, 2, 3, 128, 252, 253, 255, 1]);
    expect(saturatedBytes(bytes)).toBeCloseTo(5 / 8, 10);
    expect(saturatedBytes(bytes)).toBeCloseTo(saturatedFraction(Float32Array.from(bytes, (v) => v / 255)), 10);
  });

  it('counts values within one 8-bit level of black or white', () => {
    expect(saturatedFraction(Float32Array.from([0, 0.5, 1, 0.003, 0.997, 0.01]))).toBeCloseTo(4 / 6, 10);
    expect(saturatedFraction(Float32Array.from([0.1, 0.9]))).toBe(0);
  });
});
