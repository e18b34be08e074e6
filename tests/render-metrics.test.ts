import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gaussianBlur } from '../src/optvis/penalties/filters.ts';
import { nchw, type Nchw } from '../src/image/nchw.ts';
import { fft, fft2 } from '../src/render/fft.ts';
import { readImage } from '../src/render/image.ts';
import { highFrequencyRatio, imageMetrics, meanAbsoluteVariation, meanStd, radialPowerSpectrum, spectrumSlope } from '../src/render/metrics.ts';
import { sharedDir } from '../src/shared-path.ts';
import { Rng } from '../src/util/rng.ts';

function naiveDft(re: Float64Array, im: Float64Array, inverse: boolean): [Float64Array, Float64Array] {
  const n = re.length;
  const or = new Float64Array(n);
  const oi = new Float64Array(n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++)
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      or[k] += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      oi[k] += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
  return [or, oi];
}

function relErr(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

describe('FFT', () => {
  for (const n of [1, 2, 3, 5, 7, 8, 12, 32, 100, 224, 256]) {
    it(`matches a naive DFT, forward and inverse, n = ${n}`, () => {
      const rng = new Rng(n);
      const re = rng.fillNormal(new Float64Array(n));
      const im = rng.fillNormal(new Float64Array(n));
      for (const inverse of [false, true]) {
        const [er, ei] = naiveDft(re, im, inverse);
        const r = re.slice();
        const i = im.slice();
        fft(r, i, inverse);
        expect(relErr(r, er)).toBeLessThan(1e-10);
        expect(relErr(i, ei)).toBeLessThan(1e-10);
      }
    });
  }

  it('2-D: rows then columns equals the 2-D DFT definition (6 x 10), and inverse(forward) = h w x', () => {
    const h = 6;
    const w = 10;
    const rng = new Rng(3);
    const re = rng.fillNormal(new Float64Array(h * w));
    const im = rng.fillNormal(new Float64Array(h * w));
    const r = re.slice();
    const i = im.slice();
    fft2(r, i, h, w);
    for (const [ky, kx] of [
      [0, 0],
      [1, 3],
      [5, 9],
      [3, 5],
    ] as const) {
      let sr = 0;
      let si = 0;
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const a = -2 * Math.PI * ((ky * y) / h + (kx * x) / w);
          sr += re[y * w + x]! * Math.cos(a) - im[y * w + x]! * Math.sin(a);
          si += re[y * w + x]! * Math.sin(a) + im[y * w + x]! * Math.cos(a);
        }
      expect(r[ky * w + kx]).toBeCloseTo(sr, 9);
      expect(i[ky * w + kx]).toBeCloseTo(si, 9);
    }
    fft2(r, i, h, w, true);
    for (let k = 0; k < h * w; k++) expect(r[k]! / (h * w)).toBeCloseTo(re[k]!, 10);
  });
});

function whiteNoise(seed: number, size: number): Nchw {
  const x = nchw(1, 3, size, size);
  new Rng(seed).fillNormal(x.data, 0.1, 0.5);
  return x;
}

/** Gaussian noise with power ~ 1/f^2: random spectrum times 1/f, inverse DFT, real part. */
function pinkNoise(seed: number, size: number): Nchw {
  const rng = new Rng(seed);
  const re = new Float64Array(size * size);
  const im = new Float64Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const f = Math.hypot((y <= size / 2 ? y : y - size) / size, (x <= size / 2 ? x : x - size) / size);
      const a = f > 0 ? 1 / f : 0;
      re[y * size + x] = a * rng.normal();
      im[y * size + x] = a * rng.normal();
    }
  fft2(re, im, size, size, true);
  const img = nchw(1, 1, size, size);
  for (let p = 0; p < size * size; p++) img.data[p] = re[p]!;
  return img;
}

describe('spectrum metrics', () => {
  it('white noise has a flat spectrum (|slope| < 0.5) at 32, 224 and 256', () => {
    for (const s of [32, 224, 256]) expect(Math.abs(spectrumSlope(whiteNoise(s, s)).slope)).toBeLessThan(0.5);
  });

  it('1/f^2 noise has slope -2 +- 0.3 at 32, 224 and 256 (periodic-plus-smooth edges)', () => {
    for (const s of [32, 224, 256]) {
      const { slope, r2 } = spectrumSlope(pinkNoise(s, s));
      expect(slope).toBeGreaterThan(-2.3);
      expect(slope).toBeLessThan(-1.7);
      expect(r2).toBeGreaterThan(0.8);
    }
  });

  it('the edge handling matters: a smooth ramp (not periodic) alone would look like 1/f^2 without it', () => {
    const x = nchw(1, 1, 64, 64);
    const rng = new Rng(4);
    for (let y = 0; y < 64; y++) for (let xx = 0; xx < 64; xx++) x.data[y * 64 + xx] = xx / 64 + 0.05 * rng.normal();
    expect(spectrumSlope(x, { window: 'none' }).slope).toBeLessThan(-1);
    expect(Math.abs(spectrumSlope(x).slope)).toBeLessThan(0.5);
  });

  it('real photographs fall off near 1/f^2', async () => {
    const dir = join(sharedDir(), 'datasets', 'imagenet-samples');
    const files = readdirSync(dir).filter((f) => /\.jpe?g$/i.test(f)).sort().slice(0, 8);
    const slopes: number[] = [];
    for (const f of files) slopes.push(spectrumSlope(await readImage(join(dir, f), { size: 224 })).slope);
    console.log(`photo slopes at 224: ${slopes.map((s) => s.toFixed(2)).join(' ')}`);
    expect(slopes[0]).toBeGreaterThan(-3.2);
    expect(slopes[0]).toBeLessThan(-1.2);
    const m = meanStd(slopes).mean;
    expect(m).toBeGreaterThan(-3.2);
    expect(m).toBeLessThan(-1.6);
  });

  it('high-frequency energy ratio: noise > 1/f^2 noise, noise > blurred noise', () => {
    const x = whiteNoise(5, 128);
    const hfNoise = highFrequencyRatio(x);
    const hfBlur = highFrequencyRatio(gaussianBlur(x, 1.5));
    const hfPink = highFrequencyRatio(pinkNoise(6, 128));
    expect(hfNoise).toBeGreaterThan(0.9); // 1 - pi/64 of the band for a flat spectrum
    expect(hfBlur).toBeLessThan(hfNoise / 2);
    expect(hfPink).toBeLessThan(0.5); // ln(4) / ln(64) of the power of a 1/f^2 spectrum lies above Nyquist/4
    expect(spectrumSlope(gaussianBlur(x, 1.5)).slope).toBeLessThan(-1.5);
  });

  it('radial spectrum of white noise is flat within noise', () => {
    const { frequency, power } = radialPowerSpectrum(whiteNoise(7, 64));
    expect(frequency.length).toBe(32);
    const m = meanStd(power.slice(4));
    expect(m.std / m.mean).toBeLessThan(0.3);
  });
});

describe('simple statistics', () => {
  it('mean absolute variation of a known image', () => {
    const x = nchw(1, 1, 2, 3, new Float32Array([0, 1, 3, 1, 1, 1]));
    // horizontal |1| |2| |0| |0|, vertical |1| |0| |2|
    expect(meanAbsoluteVariation(x)).toBeCloseTo(6 / 7, 10);
  });

  it('mean and sample standard deviation', () => {
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(5 / 3), n: 4 });
    expect(meanStd([7]).std).toBe(0);
  });

  it('imageMetrics reads the right batch member', () => {
    const x = nchw(2, 3, 32, 32);
    const noise = whiteNoise(8, 32);
    x.data.fill(0.5, 0, 3 * 1024);
    x.data.set(noise.data, 3 * 1024);
    const a = imageMetrics(x, 0);
    const b = imageMetrics(x, 1);
    expect(a.tv).toBe(0);
    expect(a.std).toBe(0);
    expect(b.hfRatio).toBeGreaterThan(0.9);
    expect(b.mean).toBeCloseTo(0.5, 1);
    expect(a.saturated).toBe(0);
  });

  it('saturated: the fraction of values blown out to black or white (levels <= 2 or >= 253)', () => {
    const x = nchw(1, 3, 4, 4);
    x.data.fill(0.5);
    x.data.fill(1, 0, 12); // a quarter white
    x.data.fill(0, 12, 18); // and 6 values black
    x.data[18] = 3 / 255; // level 3: not blown out
    x.data[19] = 2 / 255; // level 2: blown out
    x.data[20] = 253 / 255; // level 253: blown out
    x.data[21] = 252 / 255; // level 252: not
    expect(imageMetrics(x).saturated).toBeCloseTo(20 / 48, 12);
  });
});
