// Feature accentuation: the parameterization reproduces the seed and its gradient matches finite
// differences; from a seed image the result changes measurably while staying closer to the seed than a
// free (lambda = 0) optimization with the same steps; the command's bad input is one line.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accentImage } from '../src/optvis/param/accentuate.ts';
import { accentuate } from '../src/optvis/render/accentuate.ts';
import { nchw, type Nchw } from '../src/image/nchw.ts';
import { readImage, writePng } from '../src/render/image.ts';
import { Rng } from '../src/util/rng.ts';

function smoothImage(h: number, w: number, seed: number): Nchw {
  const r = new Rng(seed);
  const img = nchw(1, 3, h, w);
  const a = Array.from({ length: 9 }, () => r.uniform(0, 3));
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[(c * h + y) * w + x] = 0.5 + 0.3 * Math.sin(a[c]! * y / 4 + a[3 + c]! * x / 5 + a[6 + c]!);
  return img;
}

describe('feature accentuation', () => {
  it('the spectrum parameterization renders the seed and its gradient matches finite differences', async () => {
    const seed = smoothImage(8, 6, 1);
    const p = await accentImage(seed, { decay: 1.5 });
    const img = await p.render();
    for (let k = 0; k < img.data.length; k++) expect(Math.abs(img.data[k]! - seed.data[k]!)).toBeLessThan(1e-5);
    const g = nchw(1, 3, 8, 6);
    new Rng(2).fillNormal(g.data, 1);
    const grad = await p.backward(g);
    const dot = async () => {
      const x = await p.render();
      let s = 0;
      for (let k = 0; k < x.data.length; k++) s += x.data[k]! * g.data[k]!;
      return s;
    };
    const gmax = Math.max(...grad.map(Math.abs));
    for (const k of [0, 5, 13, 40, 77, 150, 250]) {
      const v = p.values[k]!;
      const eps = 1e-3 * Math.max(1, Math.abs(v));
      p.values[k] = v + eps;
      const up = await dot();
      p.values[k] = v - eps;
      const dn = await dot();
      p.values[k] = v;
      expect(Math.abs((up - dn) / (2 * eps) - grad[k]!) / gmax).toBeLessThan(5e-3);
    }
  });

  it('changes the seed measurably and stays closer to it than a free optimization', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fviz-accent-'));
    const file = join(dir, 'seed.png');
    await writePng(smoothImage(32, 32, 3), file);
    const seed = await readImage(file, { size: [32, 32] });
    const run = (lambda: number) => accentuate({ image: file, objective: 'class:cat', out: join(dir, `l${lambda}`), steps: 48, lambda, threads: 1 });
    const held = await run(0.5);
    const free = await run(0);
    const rms = async (out: string) => {
      const x = await readImage(join(out, 'result.png'));
      let s = 0;
      for (let k = 0; k < x.data.length; k++) s += (x.data[k]! - seed.data[k]!) ** 2;
      return Math.sqrt(s / x.data.length);
    };
    const dHeld = await rms(held.outDir);
    const dFree = await rms(free.outDir);
    // well above 8-bit rounding (rms 0.3 / 255)
    expect(dHeld).toBeGreaterThan(1.5 / 255);
    expect(dHeld).toBeLessThan(0.8 * dFree);
    const initial = (held.record.details as { initial: number[] }).initial[0]!;
    expect(held.final[0]!).toBeGreaterThan(initial + 0.2);
    expect(existsSync(join(held.outDir, 'seed.png'))).toBe(true);
  });

  it('a missing seed image: one line, exit 2', () => {
    const repo = join(import.meta.dirname, '..');
    const res = spawnSync('node', [join(repo, 'bin/fviz.js'), 'accentuate', '--image', join(tmpdir(), 'no-such-seed.png'), '--objective', 'class:1', '--out', join(tmpdir(), 'fviz-acc-none')], { encoding: 'utf8', cwd: repo });
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fviz: .*no-such-seed\.png/);
  });
});
