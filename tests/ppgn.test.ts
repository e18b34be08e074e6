// PPGN-h: one sampler update against the formula computed here in float64 from the same R(h) and gradient;
// R(h) = E(G(h)) and d log p(y|G(h)) / dh against an explicit float64 forward (finite differences for the
// gradient); the chain's files; no generator is one line and exit 2.
import { describe, expect, it } from 'vitest';
import { tinyGenerator } from './helpers/tiny-generator.ts';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel, type Model } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { PpgnProgram } from '../src/optvis/param/ppgn.ts';
import { ppgnNoiseSeed, runPpgn } from '../src/optvis/render/ppgn.ts';
import { visualizePpgn } from '../src/optvis/render/visualize-ppgn.ts';
import type { ClassifierCard } from '../src/classifier/card.ts';
import type { GeneratorCard } from '../src/generator/card.ts';
import { Rng } from '../src/util/rng.ts';

const CODE = 6;
const HID = 12;
const GEN = 6;
const CLS = 4;
const K = 5;
const rand = (rng: Rng, n: number, std: number) => Array.from({ length: n }, () => std * rng.normal());
const rng = new Rng(11);
const W1 = rand(rng, HID * CODE, 0.6);
const b1 = rand(rng, HID, 0.1);
const W2 = rand(rng, 3 * GEN * GEN * HID, 0.4);
const W3 = rand(rng, CODE * 3 * CLS * CLS, 0.3);
const b3 = rand(rng, CODE, 0.1);
const W4 = rand(rng, K * CODE, 0.3);

function generatorModel(): Model {
  return tinyGenerator({ code: CODE, hidden: HID, size: GEN }, W1, b1, W2);
}

/** data -> enc (Gemm, CODE units: the layer the generator inverts) -> Relu -> logits -> Softmax. */
function classifierModel(): Model {
  const g = emptyGraph('cls');
  g.inputs.push({ name: 'data', dtype: 'float32', shape: [1, 3, CLS, CLS] });
  const b = new GraphBuilder(g);
  const f = b.op('Flatten', ['data'], { axis: { i: 1 } });
  const enc = b.node('Gemm', [f, b.constant(tensor('float32', [CODE, 3 * CLS * CLS], W3)), b.constant(tensor('float32', [CODE], b3))], { transB: { i: 1 } }, ['enc'])[0]!;
  const r = b.op('Relu', [enc]);
  const logits = b.node('Gemm', [r, b.constant(tensor('float32', [K, CODE], W4))], { transB: { i: 1 } }, ['logits'])[0]!;
  const p = b.op('Softmax', [logits], { axis: { i: 1 } });
  g.outputs.push({ name: p, dtype: 'float32', shape: [1, K] });
  return prepareModel(emptyModel(g));
}

const MEAN: [number, number, number] = [104, 117, 123];
const genCard: GeneratorCard = { name: 'tiny', model: 'tiny.onnx', codeSize: CODE, output: { channels: 'BGR', range: [0, 255], mean: MEAN, std: [1, 1, 1] }, toClassifier: 'center-crop' };
const clsCard: ClassifierCard = { name: 'tiny', model: 'tiny.onnx', input: { channels: 'BGR', range: [0, 255], mean: MEAN, std: [1, 1, 1], size: [CLS, CLS] }, preSoftmax: 'logits' };

/** float64: E(G(h)) and log p(k | G(h)) by the explicit forward (the bridge is the identity here). */
function forward64(h: number[], k: number): { recon: number[]; logp: number } {
  const pre = Array.from({ length: HID }, (_, i) => b1[i]! + h.reduce((s, c, j) => s + W1[i * CODE + j]! * c, 0));
  const act = pre.map((v) => (v > 0 ? v : 0.3 * v));
  const x0 = Array.from({ length: 3 * GEN * GEN }, (_, o) => act.reduce((s, a, i) => s + W2[o * HID + i]! * a, 0));
  const off = (GEN - CLS) / 2;
  const xc: number[] = [];
  for (let c = 0; c < 3; c++) for (let y = 0; y < CLS; y++) for (let x = 0; x < CLS; x++) xc.push(x0[c * GEN * GEN + (y + off) * GEN + (x + off)]!);
  const recon = Array.from({ length: CODE }, (_, i) => b3[i]! + xc.reduce((s, v, j) => s + W3[i * 48 + j]! * v, 0));
  const r = recon.map((v) => Math.max(v, 0));
  const z = Array.from({ length: K }, (_, i) => r.reduce((s, v, j) => s + W4[i * CODE + j]! * v, 0));
  const m = Math.max(...z);
  const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
  return { recon, logp: z[k]! - lse };
}

async function program(): Promise<PpgnProgram> {
  return PpgnProgram.create({ generator: generatorModel(), classifier: classifierModel(), generatorCard: genCard, classifierCard: clsCard, objective: 'class:2', codeLayer: 'enc', threads: 1 });
}

describe('PPGN-h', () => {
  it('R(h) is E(G(h)) and the gradient is d log p(y|G(h)) / dh (float64 forward, finite differences)', async () => {
    const prog = await program();
    const h = Float32Array.from(rand(new Rng(3), CODE, 1));
    const e = await prog.run(h);
    await prog.release();
    const ref = forward64([...h], 2);
    expect(e.perItem[0]).toBeCloseTo(ref.logp, 4);
    const scale = Math.max(...ref.recon.map(Math.abs));
    ref.recon.forEach((v, j) => expect(Math.abs(v - e.recon[j]!) / scale).toBeLessThan(1e-5));
    const eps = 1e-6;
    const fd = [...h].map((_, j) => {
      const up = [...h];
      const dn = [...h];
      up[j]! += eps;
      dn[j]! -= eps;
      return (forward64(up, 2).logp - forward64(dn, 2).logp) / (2 * eps);
    });
    const gmax = Math.max(...fd.map(Math.abs));
    expect(gmax).toBeGreaterThan(1e-3);
    fd.forEach((v, j) => expect(Math.abs(v - e.grad[j]!) / gmax).toBeLessThan(1e-4));
  });

  for (const normalize of [false, true])
    it(`one update equals h + e1 (R(h) - h) + e2 g + N(0, e3^2), ${normalize ? 'normalized as sampler.py' : 'the plain formula'}, clipped`, async () => {
      const prog = await program();
      const h0 = Float32Array.from(rand(new Rng(5), CODE, 1));
      const e = await prog.run(h0);
      const s = { eps1: 0.3, eps2: 0.7, eps3: 0.05, normalize };
      const step = 0.4;
      const lower = new Float32Array(CODE).fill(-0.9);
      const upper = new Float32Array(CODE).fill(1.1);
      const seed = 4;
      const res = await runPpgn(prog, { ...s, steps: 1, lr: step, lrEnd: step, init: h0.slice(), seed, lower, upper });
      await prog.release();
      // the formula in float64 from the same R(h) and gradient, with the same noise draws
      const noise = new Rng(ppgnNoiseSeed(seed));
      const d = [...h0].map((hv, k) => s.eps1 * (e.recon[k]! - hv) + s.eps2 * e.grad[k]! + s.eps3 * noise.normal());
      const mean = d.reduce((a, v) => a + Math.abs(v), 0) / CODE;
      const scale = normalize ? step / mean : step;
      const ref = [...h0].map((hv, k) => Math.min(Math.max(hv + scale * d[k]!, lower[k]!), upper[k]!));
      ref.forEach((v, k) => expect(Math.abs(v - res.code[k]!)).toBeLessThan(2e-6 * Math.max(1, Math.abs(v))));
      // the update moved the code, and some unit was clipped
      expect(Math.max(...ref.map((v, k) => Math.abs(v - h0[k]!)))).toBeGreaterThan(0.05);
      expect(ref.some((v, k) => v === lower[k] || v === upper[k])).toBe(true);
    });

  it('the noise std falls linearly from eps3 to eps3End over the steps (plain formula, two steps)', async () => {
    const prog = await program();
    const h0 = Float32Array.from(rand(new Rng(6), CODE, 1));
    const s = { eps1: 0.2, eps2: 0.5, eps3: 0.08, eps3End: 0.02, normalize: false };
    const step = 0.3;
    const seed = 9;
    const res = await runPpgn(prog, { ...s, steps: 2, lr: step, lrEnd: step, init: h0.slice(), seed });
    // float64 reference: step i draws N(0, 1) scaled by eps3 + (eps3End - eps3) i / steps
    const noise = new Rng(ppgnNoiseSeed(seed));
    let h = Float64Array.from(h0);
    for (const eps3 of [0.08, 0.05]) {
      const e = await prog.run(Float32Array.from(h));
      h = h.map((hv, k) => hv + step * (s.eps1 * (e.recon[k]! - hv) + s.eps2 * e.grad[k]! + eps3 * noise.normal()));
    }
    await prog.release();
    h.forEach((v, k) => expect(Math.abs(v - res.code[k]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
    // a constant std (eps3 throughout) lands elsewhere: the schedule is in effect
    const prog2 = await program();
    const flat = await runPpgn(prog2, { ...s, eps3End: undefined, steps: 2, lr: step, lrEnd: step, init: h0.slice(), seed });
    await prog2.release();
    expect(Math.max(...[...flat.code].map((v, k) => Math.abs(v - res.code[k]!)))).toBeGreaterThan(1e-3);
  });

  it('a chain of samples on the embedded pair: --samples 3 --every 2 writes three frames, the strip and run.json', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fviz-ppgn-')), 'run');
    const r = await visualizePpgn({ generator: 'embedded', objective: 'class:cat', out, samples: 3, every: 2, seed: 1, threads: 1 });
    for (const f of ['result.png', 'frames/step-00002.png', 'frames/step-00004.png', 'frames/step-00006.png', 'frames/strip.png', 'run.json']) expect(existsSync(join(out, f))).toBe(true);
    const rec = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(rec.method).toBe('ppgn');
    expect(rec.parameters.steps).toBe(6);
    expect(rec.details.chain).toEqual([2, 4, 6]);
    expect(r.history.length).toBe(7);
    // class:cat is log p(cat | x): never above 0
    for (const row of r.history) expect(row[0]!).toBeLessThanOrEqual(0);
  });

  /** `fviz visualize ARGS` fails with exit 2 and one stderr line matching `line`. */
  function oneLineError(args: string[], line: RegExp): void {
    const repo = join(import.meta.dirname, '..');
    const res = spawnSync('node', [join(repo, 'bin/fviz.js'), 'visualize', ...args], { encoding: 'utf8', cwd: repo });
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  }

  it('a negative noise std (--eps3-end): one line naming the flag, exit 2', () => {
    oneLineError(['--method', 'ppgn', '--objective', 'class:cat', '--eps3-end', '-1', '--out', join(tmpdir(), 'fviz-ppgn-neg')], /--eps3-end -1 is a noise std/);
  });

  it('no generator: one line, exit 2', () => {
    oneLineError(['--model', 'twin:googlenet', '--method', 'ppgn', '--objective', 'class:1', '--out', join(tmpdir(), 'fviz-ppgn-none')], /^fviz: --method ppgn needs --generator/);
  });
});
