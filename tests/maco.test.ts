// MaCo: the phase is the only variable; the image's spectrum before standardization is exactly the fixed
// magnitude (and after it, the magnitude over one scale); the phase gradient against finite differences;
// the average spectrum of an image folder (cached); the objective rises; no dataset is one line, exit 2.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evenMagnitude, macoImage } from '../src/optvis/param/maco.ts';
import { fft2Real } from '../src/optvis/param/spectral.ts';
import { NAdam } from '../src/optvis/render/nadam.ts';
import { nchw } from '../src/image/nchw.ts';
import { Rng } from '../src/util/rng.ts';
import { writePng } from '../src/render/image.ts';

const H = 8;
const W = 6;
const HW = H * W;

function randomMagnitude(seed: number): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: 3 * HW }, () => 0.1 + r.uniform(0, 2));
}

describe('MaCo', () => {
  it('keeps the magnitude spectrum exactly while the phase is optimized', async () => {
    const mag = randomMagnitude(1);
    const even = evenMagnitude(mag, H, W);
    const p = macoImage(2, H, W, new Rng(2), { magnitude: mag });
    const opt = new NAdam(p.values.length);
    const g = new Rng(3);
    for (let step = 0; step < 4; step++) {
      await p.render();
      const gi = nchw(2, 3, H, W);
      g.fillNormal(gi.data, 1);
      opt.step(p.values, await p.backward(gi), 0.5);
    }
    await p.render();
    const x = p.spatial();
    for (let i = 0; i < 2; i++) {
      // the standardized image's spectrum is the magnitude over one positive scale (DC removed)
      let ratio: number | undefined;
      let mean = 0;
      for (let k = 0; k < 3 * HW; k++) mean += x[i * 3 * HW + k]!;
      mean /= 3 * HW;
      for (let c = 0; c < 3; c++) {
        const plane = x.subarray((i * 3 + c) * HW, (i * 3 + c + 1) * HW);
        const F = fft2Real(plane, H, W);
        for (let k = 0; k < HW; k++) {
          const m = Math.hypot(F.re[k]!, F.im[k]!);
          expect(Math.abs(m - even[c * HW + k]!)).toBeLessThan(1e-12 * 3 * HW);
          // the inverse DFT is real: the spectrum is Hermitian, no imaginary part was dropped
        }
        const Fs = fft2Real(Array.from(plane, (v) => v - mean), H, W);
        for (let k = 1; k < HW; k++) {
          const r = Math.hypot(Fs.re[k]!, Fs.im[k]!) / even[c * HW + k]!;
          ratio ??= r;
          expect(Math.abs(r - ratio) / ratio).toBeLessThan(1e-9);
        }
      }
    }
    // the phase really changed
    const fresh = macoImage(2, H, W, new Rng(2), { magnitude: mag });
    expect(Math.max(...p.values.map((v, k) => Math.abs(v - fresh.values[k]!)))).toBeGreaterThan(0.1);
  });

  it('the phase gradient matches finite differences of <g, image>', async () => {
    const p = macoImage(1, H, W, new Rng(5), { magnitude: randomMagnitude(4) });
    const gi = nchw(1, 3, H, W);
    new Rng(6).fillNormal(gi.data, 1);
    const dot = async () => {
      const img = await p.render();
      let s = 0;
      for (let k = 0; k < img.data.length; k++) s += img.data[k]! * gi.data[k]!;
      return s;
    };
    await dot();
    const grad = await p.backward(gi);
    const gmax = Math.max(...grad.map(Math.abs));
    expect(gmax).toBeGreaterThan(1e-3);
    for (const k of [1, 7, 20, 50, 77, 100, 140]) {
      const v = p.values[k]!;
      const eps = 1e-2;
      p.values[k] = v + eps;
      const up = await dot();
      p.values[k] = v - eps;
      const dn = await dot();
      p.values[k] = v;
      expect(Math.abs((up - dn) / (2 * eps) - grad[k]!) / gmax).toBeLessThan(2e-3);
    }
  });

  it('on the embedded classifier with an image folder spectrum: cached, the objective rises, transparency written', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fviz-maco-'));
    process.env['FVIZ_CACHE'] = join(root, 'cache');
    const folder = join(root, 'images', 'any');
    mkdirSync(folder, { recursive: true });
    const r = new Rng(9);
    for (let i = 0; i < 6; i++) {
      const img = nchw(1, 3, 32, 32);
      // smooth random images: a few low-frequency waves
      const a = [r.uniform(0.5, 3), r.uniform(0.5, 3), r.uniform(0, 6)];
      for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) img.data[(c * 32 + y) * 32 + x] = 0.5 + 0.4 * Math.sin((a[0]! * y + a[1]! * x) / 5 + a[2]! + c);
      await writePng(img, join(folder, `${i}.png`));
    }
    const { averageSpectrum } = await import('../src/analysis/spectrum.ts');
    const mag = await averageSpectrum(join(root, 'images'), [32, 32]);
    expect(readdirSync(join(root, 'cache', 'spectra')).length).toBe(1);
    expect(Array.from(await averageSpectrum(join(root, 'images'), [32, 32]))).toEqual(Array.from(mag));
    const { visualizePixel } = await import('../src/optvis/render/visualize.ts');
    const out = join(root, 'run');
    const res = await visualizePixel({ objective: 'class:cat', method: 'maco', out, options: { steps: 24, transparency: true, seed: 1 }, spectrum: async () => mag, threads: 1 });
    const initial = (res.record.details as { initial: number[] }).initial[0]!;
    expect(res.final[0]!).toBeGreaterThan(initial + 1);
    expect(existsSync(join(out, 'transparency.png'))).toBe(true);
    expect(res.record.parameters['param']).toBe('maco');
    delete process.env['FVIZ_CACHE'];
  });

  it('no dataset: one line, exit 2', () => {
    const repo = join(import.meta.dirname, '..');
    const res = spawnSync('node', [join(repo, 'bin/fviz.js'), 'visualize', '--method', 'maco', '--objective', 'class:1', '--out', join(tmpdir(), 'fviz-maco-none')], { encoding: 'utf8', cwd: repo });
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fviz: --method maco needs --dataset cifar10 or an image folder/);
  });
});
