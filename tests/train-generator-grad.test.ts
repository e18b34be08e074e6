// The compiled gradients of generator training against central finite differences of an independent forward
// graph (the same losses with the weights as plain inputs, no backward): the feature loss through the frozen
// comparator, the whole generator loss (pixel + feature + adversarial through D), and D's own loss.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFused } from '../src/autodiff/compile.ts';
import { cloneModel, type Model, type TensorData } from '../src/onnx/ir.ts';
import { toNumbers } from '../src/onnx/tensor.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { withTrainingRules } from '../src/train/conv-weight-grad.ts';
import { DISCRIMINATOR_PRESETS } from '../src/train/generator/discriminator.ts';
import { initializersToInputs, initLayerParams, type LayerParam } from '../src/train/generator/layers.ts';
import { GENERATOR_PRESETS } from '../src/train/generator/net.ts';
import {
  buildDiscriminatorGraph,
  buildGeneratorGraph,
  D_CODE,
  D_IMAGE,
  D_TARGET,
  loadFrozenClassifier,
  LOSS_D,
  LOSS_FEATURE,
  LOSS_G,
  REAL_IMAGE,
  type GanLossWeights,
} from '../src/train/generator/step.ts';
import { TINY_COMPARATOR, writeTinyClassifier } from './train-generator-fixture.ts';

let dir: string;
let classifier: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fviz-gen-grad-'));
  classifier = writeTinyClassifier(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const G = GENERATOR_PRESETS['tiny']!;
const D = DISCRIMINATOR_PRESETS['tiny']!;
const f32 = (dims: number[], data: Float32Array): TensorData => ({ dtype: 'float32', dims, data });

/**
 * Analytic d loss / d params (compiled program) against central differences of `forward` (params as inputs),
 * on the largest-gradient and some random coordinates of every parameter tensor. Returns ||a - n|| / ||n||.
 */
async function check(model: Model, loss: string, params: LayerParam[], feeds: Record<string, TensorData>, eps: number): Promise<{ rel: number; count: number }> {
  const prog = withTrainingRules(() => compileFused(model, { outputs: [loss], wrt: params.map((p) => p.name), seedOnes: true }));
  const s = await Session.create(prog.model, { threads: 1 });
  const out = await s.run(feeds);
  await s.release();
  const forward = cloneModel(model);
  initializersToInputs(forward.graph, params.map((p) => p.name).filter((n) => forward.graph.initializers.has(n)));
  forward.graph.outputs = forward.graph.outputs.filter((o) => o.name === loss);
  const fwd = await Session.create(forward, { threads: 1 });
  const value = async (f: Record<string, TensorData>) => toNumbers((await fwd.run(f))[loss]!)[0]!;
  const rng = new Rng(11);
  let num2 = 0;
  let diff2 = 0;
  let count = 0;
  for (const p of params) {
    const a = out[prog.gradNames.get(p.name)!]!.data as Float32Array;
    const byMagnitude = [...a.keys()].sort((i, j) => Math.abs(a[j]!) - Math.abs(a[i]!));
    const picks = new Set([...byMagnitude.slice(0, 2), rng.int(a.length), rng.int(a.length)]);
    for (const k of picks) {
      const base = feeds[p.name]!.data as Float32Array;
      const plus = base.slice();
      const minus = base.slice();
      plus[k] = base[k]! + eps;
      minus[k] = base[k]! - eps;
      const numeric = ((await value({ ...feeds, [p.name]: f32(p.dims, plus) })) - (await value({ ...feeds, [p.name]: f32(p.dims, minus) }))) / (2 * eps);
      num2 += numeric * numeric;
      diff2 += (a[k]! - numeric) ** 2;
      count++;
    }
  }
  await fwd.release();
  return { rel: Math.sqrt(diff2 / num2), count };
}

function images(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n * 3 * 32 * 32 }, () => rng.next());
}

async function generatorCase(weights: GanLossWeights, loss: string): Promise<{ rel: number; count: number }> {
  const cls = loadFrozenClassifier(classifier, 2, { comparator: TINY_COMPARATOR });
  const gg = buildGeneratorGraph(cls, G, D, weights, 'train');
  const rng = new Rng(5);
  const feeds: Record<string, TensorData> = { [REAL_IMAGE]: f32([2, 3, 32, 32], images(rng, 2)) };
  const gw = initLayerParams(gg.gParams, 21);
  const dw = initLayerParams(gg.dParams, 22);
  for (const p of gg.gParams) feeds[p.name] = f32(p.dims, gw.get(p.name)!);
  for (const p of gg.dParams) feeds[p.name] = f32(p.dims, dw.get(p.name)!);
  return check(gg.model, loss, gg.gParams, feeds, 1e-3);
}

describe('generator training gradients against finite differences', () => {
  it('the feature loss w.r.t. the generator weights (through the frozen comparator)', async () => {
    const r = await generatorCase({ pixel: 0, feature: 1, adversarial: 0 }, LOSS_FEATURE);
    expect(r.count).toBeGreaterThan(30);
    expect(r.rel).toBeLessThan(2e-2);
  });

  it('the whole generator loss (pixel + feature + adversarial through D) w.r.t. the generator weights', async () => {
    const r = await generatorCase({ pixel: 2, feature: 1, adversarial: 0.5 }, LOSS_G);
    expect(r.rel).toBeLessThan(2e-2);
  });

  it("the discriminator's loss w.r.t. its weights", async () => {
    const dg = buildDiscriminatorGraph(D, 16, [32, 32], 4);
    const rng = new Rng(8);
    const dw = initLayerParams(dg.dParams, 9);
    const feeds: Record<string, TensorData> = {
      [D_IMAGE]: f32([4, 3, 32, 32], images(rng, 4)),
      [D_CODE]: f32([4, 16], Float32Array.from({ length: 64 }, () => Math.max(0, rng.normal()))),
      [D_TARGET]: f32([4, 1], Float32Array.from([1, 1, 0, 0])),
    };
    for (const p of dg.dParams) feeds[p.name] = f32(p.dims, dw.get(p.name)!);
    const r = await check(dg.model, LOSS_D, dg.dParams, feeds, 1e-3);
    expect(r.rel).toBeLessThan(2e-2);
  });
});
