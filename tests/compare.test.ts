// fviz compare: the run grid, resuming, metrics checked against independent computations, and
// byte-identical metrics.json from a fresh run with the same seeds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, type CompareOptions, type CompareResult } from '../src/compare/compare.ts';
import { framesFor, objectiveSlug, objectiveSlugs, planRuns } from '../src/compare/plan.ts';
import { metricsCsv, summarize, type RunMetrics } from '../src/compare/metrics.ts';
import { topSoftmax } from '../src/compare/probe.ts';
import { methodList, objectiveList } from '../src/cli/commands/compare.ts';
import { readImage } from '../src/render/image.ts';
import { readModel } from '../src/onnx/proto.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { Session } from '../src/runtime/session.ts';
import { spectrumSlope } from '../src/render/metrics.ts';
import { COMPARE_LABELS, compareGrid, writeCompareModels, type CompareModels } from './helpers/compare-models.ts';

describe('compare plan', () => {
  it('names objective folders readably and uniquely', () => {
    expect(objectiveSlug('class:cat')).toBe('class-cat');
    expect(objectiveSlug('inception_4c/output:7@3,4')).toBe('inception_4c_output-7-at-3_4');
    expect(objectiveSlug('0.5*a:1 + b:2 - c')).toBe('0.5xa-1+b-2~c');
    expect(objectiveSlugs(['class:cat', 'class:cat', 'x'])).toEqual(['class-cat', 'class-cat-2', 'x']);
  });

  it('chooses frames at the start, 1/16, 1/4, 1/2 and the end, or the given ones inside the run', () => {
    expect(framesFor(256)).toEqual([0, 16, 64, 128, 256]);
    expect(framesFor(4)).toEqual([0, 1, 2, 4]);
    expect(framesFor(100, [0, 10, 200, 10])).toEqual([0, 10]);
  });

  it('makes one run per objective, method and seed, with each method its own default steps', () => {
    const runs = planRuns({ objectives: ['class:1', 'conv:2'], methods: ['dgn', 'naive'], seeds: 3, dgnSteps: 200 });
    expect(runs).toHaveLength(12);
    expect(runs.map((r) => r.dir)).toContain('runs/conv-2/naive/seed-2');
    expect(new Set(runs.map((r) => r.dir)).size).toBe(12);
    expect(runs.find((r) => r.method === 'dgn')!.steps).toBe(200);
    expect(runs.find((r) => r.method === 'naive')!.steps).toBe(256);
    expect(planRuns({ objectives: ['a'], methods: ['dgn', 'tv'], seeds: 1, steps: 7, dgnSteps: 200 }).map((r) => r.steps)).toEqual([7, 7]);
    expect(() => planRuns({ objectives: ['a'], methods: ['naive'], seeds: 0, dgnSteps: 1 })).toThrow(/--seeds 0/);
  });

  it('splits --objective at commas but keeps a neuron @Y,X whole; checks --methods', () => {
    expect(objectiveList('class:cat, conv2:3@1,2,class:dog')).toEqual(['class:cat', 'conv2:3@1,2', 'class:dog']);
    expect(objectiveList(['a:1', 'b:2,c:3'])).toEqual(['a:1', 'b:2', 'c:3']);
    expect(methodList('dgn, tv')).toEqual(['dgn', 'tv']);
    expect(() => methodList('dgn,sharpen')).toThrow(/unknown method 'sharpen'/);
  });
});

describe('compare metrics', () => {
  it('softmax top-1 agrees with a direct float64 softmax', () => {
    const logits = [1.5, -3, 4.25, 4.2];
    const e = logits.map((v) => Math.exp(v));
    const s = e.reduce((a, b) => a + b, 0);
    const r = topSoftmax(logits);
    expect(r.index).toBe(2);
    expect(r.probability).toBeCloseTo(e[2]! / s, 14);
  });

  const row = (method: string, seed: number, activation: number, extra: Partial<RunMetrics> = {}): RunMetrics => ({
    objective: 'class:1',
    terms: ['class:1 (cat)'],
    unit: 'class:1 (cat)',
    method,
    seed,
    run: `runs/x/${method}/seed-${seed}`,
    objectiveValue: activation,
    activation,
    hfRatio: 0.5,
    spectrumSlope: -2,
    tv: 0.1,
    saturated: 0.02,
    ...extra,
  });

  it('summarizes mean and sample std over seeds per (objective, method)', () => {
    const s = summarize([row('a', 0, 1), row('b', 0, 10), row('a', 1, 2), row('a', 2, 6)]);
    expect(s.map((x) => [x.method, x.n])).toEqual([
      ['a', 3],
      ['b', 1],
    ]);
    expect(s[0]!.metrics.activation!.mean).toBeCloseTo(3, 12);
    // sample std of 1, 2, 6: sqrt(((-2)^2 + (-1)^2 + 3^2) / 2) = sqrt(7)
    expect(s[0]!.metrics.activation!.std).toBeCloseTo(Math.sqrt(7), 12);
    expect(s[1]!.metrics.activation!.std).toBe(0);
    expect(s[0]!.metrics.judgeProbability).toBeUndefined();
  });

  it('writes CSV with quoting and empty fields for unmeasured values', () => {
    const csv = metricsCsv([row('a', 0, 1.5, { objective: '0.5*x:1 + y:2', terms: ['x:1', 'y "2"'], judge: { class: 3, label: 'ship, boat', probability: 0.25 } }), row('b', 1, 2)]);
    const lines = csv.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('0.5*x:1 + y:2,class:1 (cat),"x:1 + y ""2""",a,0,1.5,1.5,,0.5,-2,0.1,0.02,3,"ship, boat",0.25,,runs/x/a/seed-0');
    expect(lines[2]!.split(',').slice(12, 16)).toEqual(['', '', '', '']);
  });
});

describe('compare runs', () => {
  let root: string;
  let models: CompareModels;
  let first: CompareResult;
  const outA = () => join(root, 'a');
  const base = (out: string): CompareOptions => compareGrid(models, out, 12);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fviz-compare-'));
    models = writeCompareModels(join(root, 'models'));
    first = await compare(base(outA()));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('writes every run folder and the comparison files', () => {
    expect(first.ran).toBe(12);
    expect(first.skipped).toBe(0);
    for (const r of first.runs) for (const f of ['run.json', 'result.png', 'frames/step-00000.png', 'frames/step-00012.png']) expect(existsSync(join(outA(), r.dir, f)), `${r.dir}/${f}`).toBe(true);
    for (const f of ['sheet.png', 'progression.png', 'metrics.json', 'metrics.csv', 'report.html', 'timings.json']) expect(existsSync(join(outA(), f)), f).toBe(true);
    const json = JSON.parse(readFileSync(join(outA(), 'metrics.json'), 'utf8'));
    expect(json.images).toHaveLength(12);
    expect(json.summary).toHaveLength(6);
    expect(JSON.stringify(json)).not.toMatch(/Ms"|timings/);
    expect(readFileSync(join(outA(), 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(13);
  });

  it('measures the target unit on the saved image: equal to the run objective up to 8-bit rounding', () => {
    for (const m of first.metrics) {
      expect(Number.isFinite(m.activation)).toBe(true);
      expect(Math.abs(m.activation - m.objectiveValue)).toBeLessThan(0.02 * Math.max(1, Math.abs(m.objectiveValue)));
    }
    expect(first.metrics.find((m) => m.objective === 'class:cat')!.unit).toBe('class:1 (cat)');
  });

  it('computes the spectrum slope of the saved image', async () => {
    const m = first.metrics[0]!;
    const img = await readImage(join(outA(), m.run, 'result.png'));
    expect(m.spectrumSlope).toBe(spectrumSlope(img).slope);
  });

  it("reports the judge's own softmax output on the image resized to its input", async () => {
    // Independent path: the judge's original graph (input normalized here by hand, output 'prob').
    const card = JSON.parse(readFileSync(models.judge.replace(/\.onnx$/, '.card.json'), 'utf8'));
    const session = await Session.create(prepareModel(readModel(models.judge), { batch: 1 }), { threads: 1 });
    try {
      for (const m of first.metrics.slice(0, 4)) {
        const img = await readImage(join(outA(), m.run, 'result.png'), { size: 32, fit: 'stretch' });
        const x = Float32Array.from(img.data, (v, i) => (v - card.input.mean[Math.floor(i / 1024)]) / card.input.std[Math.floor(i / 1024)]);
        const prob = (await session.run({ input: { dtype: 'float32', dims: [1, 3, 32, 32], data: x } }))['prob']!.data as Float32Array;
        const top = prob.indexOf(Math.max(...prob));
        expect(m.judge!.class).toBe(top);
        expect(m.judge!.label).toBe(COMPARE_LABELS[top]);
        expect(m.judge!.probability).toBeCloseTo(prob[top]!, 5);
      }
    } finally {
      await session.release();
    }
  });

  it('keeps finished runs: a second call runs nothing and writes the same metrics.json', async () => {
    const before = readFileSync(join(outA(), 'metrics.json'));
    const stamp = statSync(join(outA(), first.runs[0]!.dir, 'run.json')).mtimeMs;
    const again = await compare(base(outA()));
    expect(again.ran).toBe(0);
    expect(again.skipped).toBe(12);
    expect(statSync(join(outA(), first.runs[0]!.dir, 'run.json')).mtimeMs).toBe(stamp);
    expect(readFileSync(join(outA(), 'metrics.json')).equals(before)).toBe(true);
  });

  it('redoes only a run whose run.json is missing', async () => {
    const victim = first.runs[5]!;
    rmSync(join(outA(), victim.dir, 'run.json'));
    const again = await compare(base(outA()));
    expect(again.ran).toBe(1);
    expect(existsSync(join(outA(), victim.dir, 'run.json'))).toBe(true);
  });

  it('a fresh run with the same seeds gives byte-identical metrics.json, metrics.csv and sheet.png', async () => {
    const outB = join(root, 'b');
    await compare(base(outB));
    for (const f of ['metrics.json', 'metrics.csv', 'sheet.png', 'progression.png'])
      expect(readFileSync(join(outB, f)).equals(readFileSync(join(outA(), f))), f).toBe(true);
  });

  it('re-runs runs made with other steps instead of reusing them', async () => {
    const out = join(root, 'c');
    const o = { ...base(out), objectives: ['class:cat'], methods: ['naive' as const], seeds: 1 };
    await compare(o);
    const r = await compare({ ...o, steps: 5 });
    expect(r.ran).toBe(1);
    expect(JSON.parse(readFileSync(join(out, r.runs[0]!.dir, 'run.json'), 'utf8')).parameters.steps).toBe(5);
  });

  it('refuses dgn without a generator and bad objectives before running anything', async () => {
    const out = join(root, 'd');
    await expect(compare({ ...base(out), generator: undefined })).rejects.toThrow(/dgn needs --generator/);
    await expect(compare({ ...base(out), objectives: ['class:cat', 'a:1@2'] })).rejects.toThrow(/objective/);
    expect(existsSync(out)).toBe(false);
  });

  it('runs from the command line: summary lines on stdout, progress on stderr, one-line errors with exit 2', () => {
    const fviz = (...args: string[]) => spawnSync(process.execPath, ['bin/fviz.js', 'compare', ...args], { encoding: 'utf8', timeout: 60_000 });
    const out = join(root, 'cli');
    const ok = fviz('--model', models.classifier, '--generator', models.generator, '--objective', 'class:dog,conv2:1@3,4', '--methods', 'dgn,l2', '--seeds', '1', '--steps', '3', '--threads', '1', '--out', out);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^class:dog dgn: activation /m);
    expect(ok.stdout).toMatch(/^conv2:1@3,4 l2: activation /m);
    expect(ok.stdout).toMatch(/4 run\(s\) made, 0 kept/);
    expect(ok.stderr).toMatch(/compare 12\/12 steps .*all 4 run\(s\) done/);
    expect(existsSync(join(out, 'runs', 'conv2-1-at-3_4', 'l2', 'seed-0', 'run.json'))).toBe(true);
    const bad = fviz('--model', models.classifier, '--objective', 'class:dog', '--methods', 'naive,sharpen', '--out', join(root, 'cli-bad'));
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([`fviz: --methods: unknown method 'sharpen'; choose from dgn,ppgn,naive,l2,tv,blur,bilateral,robust,fourier,maco`]);
  });
});
