// One DGN-AM step against the literal act_max.py update, computed here with an explicit chain rule in
// float64 on tiny fully-connected models (no onnxruntime, no autodiff on the reference side).
import { describe, expect, it } from 'vitest';
import { tinyGenerator } from './helpers/tiny-generator.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel, type Model } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { DgnProgram } from '../src/optvis/param/generator.ts';
import { runDgnAm } from '../src/optvis/render/dgn.ts';
import type { ClassifierCard } from '../src/classifier/card.ts';
import type { GeneratorCard } from '../src/generator/card.ts';
import { Rng } from '../src/util/rng.ts';

const CODE = 6;
const HID = 12;
const GEN = 6; // generator makes 3 x 6 x 6
const CLS = 4; // classifier takes 3 x 4 x 4 (center crop)
const HIDC = 10;
const K = 5;

function rand(rng: Rng, n: number, std: number): number[] {
  return Array.from({ length: n }, () => std * rng.normal());
}

const rng = new Rng(42);
const W1 = rand(rng, HID * CODE, 0.6);
const b1 = rand(rng, HID, 0.1);
const W2 = rand(rng, 3 * GEN * GEN * HID, 0.4);
const W3 = rand(rng, HIDC * 3 * CLS * CLS, 0.3);
const b3 = rand(rng, HIDC, 0.1);
const W4 = rand(rng, K * HIDC, 0.5);

function generatorModel(): Model {
  return tinyGenerator({ code: CODE, hidden: HID, size: GEN }, W1, b1, W2);
}

function classifierModel(): Model {
  const g = emptyGraph('cls');
  g.inputs.push({ name: 'data', dtype: 'float32', shape: [1, 3, CLS, CLS] });
  const b = new GraphBuilder(g);
  const f = b.op('Flatten', ['data'], { axis: { i: 1 } });
  const h = b.op('Gemm', [f, b.constant(tensor('float32', [HIDC, 3 * CLS * CLS], W3)), b.constant(tensor('float32', [HIDC], b3))], { transB: { i: 1 } });
  const r = b.op('Relu', [h]);
  const logits = b.node('Gemm', [r, b.constant(tensor('float32', [K, HIDC], W4))], { transB: { i: 1 } }, ['logits'])[0]!;
  const p = b.op('Softmax', [logits], { axis: { i: 1 } });
  g.outputs.push({ name: p, dtype: 'float32', shape: [1, K] });
  return prepareModel(emptyModel(g));
}

// Generator output convention: BGR, values in [0, 255] minus a mean (Caffe style); the classifier takes
// BGR minus the same mean, so the composed map between them is the identity as in Nguyen's setup.
const MEAN: [number, number, number] = [104, 117, 123];
const genCard: GeneratorCard = {
  name: 'tiny',
  model: 'tiny.onnx',
  codeSize: CODE,
  output: { channels: 'BGR', range: [0, 255], mean: MEAN, std: [1, 1, 1] },
  toClassifier: 'center-crop',
};
const clsCard: ClassifierCard = {
  name: 'tiny',
  model: 'tiny.onnx',
  input: { channels: 'BGR', range: [0, 255], mean: MEAN, std: [1, 1, 1], size: [CLS, CLS] },
};

/** The literal act_max.py step, float64, explicit chain rule. */
function referenceStep(code: number[], unit: number, step: number, lower: number[], upper: number[], l2: number): number[] {
  // generator forward
  const pre = Array.from({ length: HID }, (_, i) => b1[i]! + code.reduce((s, c, j) => s + W1[i * CODE + j]! * c, 0));
  const act = pre.map((v) => (v > 0 ? v : 0.3 * v));
  const x0 = Array.from({ length: 3 * GEN * GEN }, (_, o) => act.reduce((s, a, i) => s + W2[o * HID + i]! * a, 0));
  // crop (net input space equals generator output space)
  const off = (GEN - CLS) / 2;
  const cropIdx: number[] = [];
  for (let c = 0; c < 3; c++) for (let y = 0; y < CLS; y++) for (let x = 0; x < CLS; x++) cropIdx.push(c * GEN * GEN + (y + off) * GEN + (x + off));
  const xc = cropIdx.map((i) => x0[i]!);
  // classifier forward + gradient of the unit's logit w.r.t. the cropped image
  const hpre = Array.from({ length: HIDC }, (_, i) => b3[i]! + xc.reduce((s, v, j) => s + W3[i * 48 + j]! * v, 0));
  const dh = Array.from({ length: HIDC }, (_, i) => (hpre[i]! > 0 ? W4[unit * HIDC + i]! : 0));
  const g = xc.map((_, j) => dh.reduce((s, d, i) => s + d * W3[i * 48 + j]!, 0));
  // x = x0 + step / mean|g| * g on the crop
  const meanG = g.reduce((s, v) => s + Math.abs(v), 0) / g.length;
  const diff = new Array<number>(x0.length).fill(0);
  cropIdx.forEach((i, j) => (diff[i] = (step / meanG) * g[j]!));
  // backpropagate (x - x0) through the generator to the code
  const da = Array.from({ length: HID }, (_, i) => diff.reduce((s, d, o) => s + d * W2[o * HID + i]!, 0));
  const dpre = da.map((v, i) => v * (pre[i]! > 0 ? 1 : 0.3));
  const d = code.map((_, j) => dpre.reduce((s, v, i) => s + v * W1[i * CODE + j]!, 0));
  const meanD = d.reduce((s, v) => s + Math.abs(v), 0) / d.length;
  const updated = code.map((c, j) => c + (step / meanD) * d[j]!);
  return updated.map((v, j) => Math.min(Math.max(v, lower[j]!), upper[j]!) * l2);
}

describe('DGN-AM step', () => {
  for (const mode of ['fused', 'chained'] as const)
    it(`matches the literal act_max.py update (${mode})`, async () => {
      const prog = await DgnProgram.create({
        generator: generatorModel(),
        classifier: classifierModel(),
        generatorCard: genCard,
        classifierCard: clsCard,
        objective: 'class:2',
        mode,
        threads: 1,
      });
      const start = Float32Array.from(rand(new Rng(7), CODE, 1));
      const lower = new Float32Array(CODE).fill(-0.8);
      const upper = new Float32Array(CODE).fill(1.2);
      const step = 0.5;
      const res = await runDgnAm(prog, { steps: 1, startStep: step, endStep: 0, l2: 0.99, optimizer: 'nguyen', init: start, seed: 0, lower, upper });
      await prog.release();
      const ref = referenceStep([...start], 2, step, [...lower], [...upper], 0.99);
      const maxErr = Math.max(...ref.map((v, j) => Math.abs(v - res.code[j]!)));
      expect(maxErr).toBeLessThan(1e-4);
      // the step really moved the code
      expect(Math.max(...ref.map((v, j) => Math.abs(v - start[j]!)))).toBeGreaterThan(0.05);
    });
});
