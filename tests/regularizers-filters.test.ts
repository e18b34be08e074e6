import { describe, expect, it } from 'vitest';
import { nchw, type Nchw } from '../src/image/nchw.ts';
import { bilateralFilter, clipPixels, gaussianBlur, gaussianKernel, l2Decay, l2Penalty, percentile, totalVariation, type TvOptions } from '../src/optvis/penalties/filters.ts';
import { Rng } from '../src/util/rng.ts';

function noise(seed: number, n: number, c: number, h: number, w: number, std = 1, mean = 0): Nchw {
  const x = nchw(n, c, h, w);
  new Rng(seed).fillNormal(x.data, std, mean);
  return x;
}

function std(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i]!;
  m /= a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i]! - m) ** 2;
  return Math.sqrt(v / a.length);
}

describe('gaussian blur', () => {
  it('matches a direct 2-D convolution with mirrored borders', () => {
    const x = noise(1, 1, 2, 9, 13);
    const sigma = 1.3;
    const k = gaussianKernel(sigma);
    const r = (k.length - 1) / 2;
    const mirror = (i: number, n: number) => (i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    const y = gaussianBlur(x, sigma);
    for (let ch = 0; ch < 2; ch++)
      for (let i = 0; i < 9; i++)
        for (let j = 0; j < 13; j++) {
          let s = 0;
          for (let a = -r; a <= r; a++) for (let b = -r; b <= r; b++) s += k[a + r]! * k[b + r]! * x.data[ch * 117 + mirror(i + a, 9) * 13 + mirror(j + b, 13)]!;
          expect(y.data[ch * 117 + i * 13 + j]).toBeCloseTo(s, 5);
        }
  });

  it('keeps a constant image and reduces white-noise std by the kernel norm', () => {
    const c = nchw(1, 1, 20, 20, new Float32Array(400).fill(0.7));
    expect(Math.max(...Array.from(gaussianBlur(c, 2).data, (v) => Math.abs(v - 0.7)))).toBeLessThan(1e-6);
    const x = noise(2, 1, 3, 128, 128);
    const k = gaussianKernel(1);
    const k2 = k.reduce((s, v) => s + v * v, 0);
    expect(std(gaussianBlur(x, 1).data) / std(x.data)).toBeCloseTo(k2, 1); // 1-D norm squared = 2-D norm
  });
});

describe('bilateral filter', () => {
  it('smooths noise but keeps a step edge, where a Gaussian blur smears it', () => {
    const H = 32;
    const W = 32;
    const x = noise(3, 1, 3, H, W, 0.03);
    for (let ch = 0; ch < 3; ch++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) x.data[ch * H * W + i * W + j] += j < 16 ? 0.2 : 0.8;
    const y = bilateralFilter(x, { sigmaSpatial: 2, sigmaRange: 0.1 });
    const g = gaussianBlur(x, 2);
    const col = (img: Nchw, j: number) => {
      let s = 0;
      for (let i = 0; i < H; i++) s += img.data[i * W + j]!;
      return s / H;
    };
    // The edge stays a step: the two columns beside it keep their levels.
    expect(col(y, 15)).toBeCloseTo(0.2, 1);
    expect(col(y, 16)).toBeCloseTo(0.8, 1);
    expect(col(y, 16) - col(y, 15)).toBeGreaterThan(0.55);
    expect(col(g, 16) - col(g, 15)).toBeLessThan(0.3);
    // The noise inside the flat halves shrinks.
    const flat = (img: Nchw) => {
      const v: number[] = [];
      for (let i = 4; i < 28; i++) for (let j = 3; j < 12; j++) v.push(img.data[i * W + j]!);
      return std(v);
    };
    expect(flat(y)).toBeLessThan(flat(x) / 2.5);
  });

  it('224x224x3 in reasonable time', () => {
    const x = noise(4, 1, 3, 224, 224, 0.1, 0.5);
    const t0 = performance.now();
    bilateralFilter(x, { sigmaSpatial: 1.5, sigmaRange: 0.1 });
    const ms = performance.now() - t0;
    console.log(`bilateral 3x224x224 sigma 1.5 (radius 3): ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(400);
  });
});

describe('pixel clipping (Yosinski et al. 2015)', () => {
  it('sets the pixels of smallest norm to the centre, at the given percentile', () => {
    const x = nchw(1, 3, 10, 10);
    for (let p = 0; p < 100; p++) for (let ch = 0; ch < 3; ch++) x.data[ch * 100 + p] = 0.5 + (p / 100) * (ch === 1 ? -0.3 : 0.3);
    const { image, clipped } = clipPixels(x, null, { normPercentile: 30 });
    expect(clipped).toEqual([29]); // values strictly below the rank-29 value (0.3 * 99 = 29.7 -> rank 29)
    for (let p = 0; p < 100; p++) {
      const expected = p < 29 ? 0.5 : x.data[p]!;
      expect(image.data[p]).toBeCloseTo(expected, 6);
    }
  });

  it('sets the pixels of smallest |x * grad| to the centre; the rest untouched', () => {
    const rng = new Rng(5);
    const x = noise(6, 2, 3, 8, 8, 0.2, 0.5);
    const g = noise(7, 2, 3, 8, 8);
    const { image, clipped } = clipPixels(x, g, { contributionPercentile: 50, center: [0.5, 0.5, 0.5] });
    for (let b = 0; b < 2; b++) {
      const contrib: number[] = [];
      for (let p = 0; p < 64; p++) {
        let s = 0;
        for (let ch = 0; ch < 3; ch++) s += (x.data[b * 192 + ch * 64 + p]! - 0.5) * g.data[b * 192 + ch * 64 + p]!;
        contrib.push(Math.abs(s));
      }
      const sorted = [...contrib].sort((a, c) => a - c);
      const t = sorted[Math.floor(0.5 * 63)]!;
      let count = 0;
      for (let p = 0; p < 64; p++) {
        const killed = contrib[p]! < t;
        if (killed) count++;
        const ch = rng.int(3);
        expect(image.data[b * 192 + ch * 64 + p]).toBeCloseTo(killed ? 0.5 : x.data[b * 192 + ch * 64 + p]!, 6);
      }
      expect(clipped[b]).toBe(count);
      expect(count).toBe(31);
    }
  });

  it('percentile agrees with sorting', () => {
    const v = new Float64Array(1001);
    new Rng(9).fillNormal(v);
    const s = Array.from(v).sort((a, b) => a - b);
    for (const p of [0, 1, 10, 37.5, 50, 99, 100]) expect(percentile(v, p)).toBe(s[Math.floor((p / 100) * 1000)]);
  });
});

function fdCheck(f: (x: Nchw) => { value: number; grad: Nchw }, x: Nchw, seed: number, h = 1e-2): number {
  const { grad } = f(x);
  const rng = new Rng(seed);
  let num = 0;
  let den = 0;
  for (let s = 0; s < 40; s++) {
    const i = rng.int(x.data.length);
    const orig = x.data[i]!;
    x.data[i] = orig + h;
    const hi = x.data[i]!;
    const fp = f(x).value;
    x.data[i] = orig - h;
    const lo = x.data[i]!;
    const fm = f(x).value;
    x.data[i] = orig;
    const numeric = (fp - fm) / (hi - lo);
    num += (numeric - grad.data[i]!) ** 2;
    den += numeric ** 2;
  }
  return Math.sqrt(num / den);
}

describe('penalties and their gradients', () => {
  it('total variation (squared, abs, mean) matches finite differences', () => {
    const x = noise(10, 2, 3, 7, 9, 0.3, 0.5);
    for (const o of [{}, { mean: true }] as TvOptions[]) expect(fdCheck((v) => totalVariation(v, o), x, 1)).toBeLessThan(1e-3);
    // The smoothed absolute value is curved near 0: a smaller step.
    expect(fdCheck((v) => totalVariation(v, { kind: 'abs', eps: 1e-3 }), x, 1, 1e-3)).toBeLessThan(1e-2);
  });

  it('total variation values on a known image', () => {
    const x = nchw(1, 1, 2, 3, new Float32Array([0, 1, 3, 1, 1, 1]));
    // horizontal: 1, 2, 0, 0; vertical: 1, 0, -2
    expect(totalVariation(x).value).toBeCloseTo(1 + 4 + 1 + 4, 10);
    expect(totalVariation(x, { kind: 'abs', eps: 0 }).value).toBeCloseTo(1 + 2 + 1 + 2, 6);
    expect(totalVariation(x, { mean: true }).value).toBeCloseTo(10 / 7, 10);
  });

  it('L2 penalty gradient and decay', () => {
    const x = noise(11, 1, 3, 5, 5, 0.3, 0.5);
    expect(fdCheck((v) => l2Penalty(v, 0.5), x, 2)).toBeLessThan(1e-3);
    const d = l2Decay(x, 0.1, 0.5);
    expect(d.data[7]).toBeCloseTo(0.5 + 0.9 * (x.data[7]! - 0.5), 6);
  });

  it('blur, TV and clipping of a 3x224x224 image stay within a few ms', () => {
    const x = noise(12, 1, 3, 224, 224, 0.1, 0.5);
    const g = noise(13, 1, 3, 224, 224);
    const time = (f: () => void) => {
      f();
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) f();
      return (performance.now() - t0) / 5;
    };
    const blur = time(() => gaussianBlur(x, 1));
    const tv = time(() => totalVariation(x));
    const clip = time(() => clipPixels(x, g, { normPercentile: 10, contributionPercentile: 10 }));
    console.log(`3x224x224: blur sigma 1 ${blur.toFixed(2)} ms, TV ${tv.toFixed(2)} ms, clip ${clip.toFixed(2)} ms`);
    expect(blur + tv + clip).toBeLessThan(60);
  });
});
