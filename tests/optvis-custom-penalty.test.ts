// Adding a regularizer from outside the package: a penalty and a filter registered through the public
// API (src/index.ts), a method row naming them, run through visualizePixel (what `fviz visualize` calls).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FvizError, METHODS, nchw, readImage, registerFilter, registerMethod, registerPenalty, visualizePixel, type Filter, type Nchw, type Penalty } from '../src/index.ts';

const tmp = mkdtempSync(join(tmpdir(), 'fviz-custom-penalty-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const STEPS = 24;
let penaltyCalls = 0;
let filterCalls = 0;

/** 0.5 * sum x^2: pulls every pixel towards black. */
const darken = (weight: number): Penalty => ({
  name: 'darken',
  weight,
  gradient(x: Nchw) {
    penaltyCalls++;
    return { ...x, data: x.data.slice() };
  },
});

/** Every k steps: the left half of every image set to mid-grey. */
const greyLeft = (every: number): Filter => ({
  name: 'grey-left',
  every,
  apply(x: Nchw) {
    filterCalls++;
    const [n, c, h, w] = x.dims;
    const out = nchw(n, c, h, w, x.data.slice());
    for (let p = 0; p < n * c * h; p++) out.data.fill(0.5, p * w, p * w + Math.floor(w / 2));
    return { image: out };
  },
});

registerPenalty('darken', darken);
registerFilter('grey-left', greyLeft);
registerMethod('dark', { describe: 'naive plus the darken penalty', preset: { penalties: { darken: 2 } } });
registerMethod('dark-grey', { preset: { penalties: { darken: 2 }, filterEvery: { 'grey-left': STEPS } } });

const mean = (x: Nchw) => x.data.reduce((s, v) => s + v, 0) / x.data.length;

async function run(method: string) {
  const out = join(tmp, method);
  await visualizePixel({ model: 'embedded', objective: 'class:cat', method, out, options: { steps: STEPS, seed: 3 } });
  const image = await readImage(join(out, 'result.png'), { size: [32, 32] });
  return { image, record: JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) };
}

describe('a regularizer added from outside the package', () => {
  it('a registered penalty pulls the image as a preset names it, through visualizePixel', async () => {
    expect(METHODS.get('dark')?.param).toBe('pixel');
    const naive = await run('naive');
    penaltyCalls = 0;
    const dark = await run('dark');
    expect(penaltyCalls).toBe(STEPS);
    expect(dark.record.method).toBe('dark');
    expect(dark.record.parameters.penalties).toEqual({ darken: 2 });
    // Same seed, same start: only the penalty differs, and it darkens the result.
    expect(mean(dark.image)).toBeLessThan(mean(naive.image) - 0.05);
    expect(dark.record.details.filters).toEqual({ blur: 0, bilateral: 0, clipped: 0 });
  });

  it('a registered filter runs every k steps and is counted in run.json', async () => {
    filterCalls = 0;
    const r = await run('dark-grey');
    expect(filterCalls).toBe(1);
    expect(r.record.details.filters).toEqual({ blur: 0, bilateral: 0, clipped: 0, 'grey-left': 1 });
    // The filter ran after the last step: the left half of the result is grey (PNG rounding aside).
    const [, c, h, w] = r.image.dims;
    for (let p = 0; p < c * h; p++) for (let x = 0; x < w / 2; x++) expect(Math.abs(r.image.data[p * w + x]! - 0.5)).toBeLessThan(1 / 255);
  });

  it('names are checked', () => {
    expect(() => registerPenalty('darken', darken)).toThrow(FvizError);
    expect(() => registerPenalty('tv', darken)).toThrow(/exists already/);
    expect(() => registerMethod('naive', { preset: {} })).toThrow(/exists already/);
    expect(() => registerMethod('Bad Name', { preset: {} })).toThrow(FvizError);
  });

  it('an unknown method fails with the list of methods', async () => {
    await expect(visualizePixel({ model: 'embedded', objective: 'class:cat', method: 'nope', out: join(tmp, 'nope') })).rejects.toThrow(/unknown method 'nope'.*naive.*dark/);
  });
});
