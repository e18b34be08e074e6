// End to end: an objective on a tiny conv net, compiled by ObjectiveGradient, against central finite
// differences of the objective's value. onnxruntime has no float64 Conv kernel, so this runs in float32
// with step 1e-2: float32 rounding inside the convolutions puts ~1e-5 of noise on a difference quotient
// and the Tanh curvature (~step^2 |J'''|) ~1e-5 more; measured errors are ~1e-5 along the gradient and
// ~2e-4 over coordinates (largest-gradient plus random ones), against the bound 1e-3.
import { describe, expect, it } from 'vitest';
import { ObjectiveGradient } from '../src/optvis/objectives/gradient.ts';
import type { TensorData } from '../src/onnx/ir.ts';
import { Rng } from '../src/util/rng.ts';
import { randomInput } from './helpers/models.ts';
import { TINY_LABELS, tinyCnn } from './helpers/tiny-cnn.ts';

const N = 2;
const TOL = 1e-3;

/**
 * Compiles `objective`, then compares its gradient with central differences of its value: along the
 * gradient's own direction (where the derivative is |g|, well above float32 noise), and coordinate by
 * coordinate on the largest-gradient coordinates plus random ones (||analytic - numeric|| / ||numeric||).
 */
async function gradientErrors(objective: string, wrt: string[], seed: number, labels?: string[]) {
  const model = tinyCnn(N);
  const prog = await ObjectiveGradient.create(model, { objective, wrt, names: { labels }, threads: 1 });
  const rng = new Rng(seed);
  const base: Record<string, TensorData> = { image: randomInput(rng, [N, 3, 6, 6]) };
  for (const [w, t] of prog.weights) base[w] = t;
  const res = await prog.run(base);
  expect(res.perItem).toHaveLength(N);
  expect(res.value).toBeCloseTo(res.perItem[0]! + res.perItem[1]!, 5);
  const grads = new Map(wrt.map((w) => [w, Float64Array.from(res.grads.get(w)!.data as Float32Array)]));
  const J = async (dirs: Map<string, Float64Array>, step: number) => {
    const feeds = { ...base };
    for (const [w, v] of dirs) {
      const x = base[w]!.data as Float32Array;
      feeds[w] = { ...base[w]!, data: x.map((xi, k) => xi + step * v[k]!) };
    }
    return (await prog.run(feeds)).value;
  };
  const step = 1e-2;
  const central = async (dirs: Map<string, Float64Array>) => ((await J(dirs, step)) - (await J(dirs, -step))) / (2 * step);

  let norm = 0;
  for (const g of grads.values()) for (const v of g) norm += v * v;
  norm = Math.sqrt(norm);
  expect(norm).toBeGreaterThan(0);
  const along = new Map([...grads].map(([w, g]) => [w, g.map((v) => v / norm)]));
  const numericAlong = await central(along);
  const direction = Math.abs(numericAlong - norm) / norm;

  let num2 = 0;
  let diff2 = 0;
  for (const [w, g] of grads) {
    const order = [...g.keys()].sort((p, q) => Math.abs(g[q]!) - Math.abs(g[p]!));
    const picks = new Set([...order.slice(0, 8), ...Array.from({ length: 8 }, () => rng.int(g.length))]);
    for (const k of picks) {
      const e = new Float64Array(g.length);
      e[k] = 1;
      const numeric = await central(new Map([[w, e]]));
      num2 += numeric ** 2;
      diff2 += (numeric - g[k]!) ** 2;
    }
  }
  await prog.release();
  return { direction, coordinates: Math.sqrt(diff2 / num2) };
}

describe('ObjectiveGradient end to end on a tiny conv net (float32)', () => {
  const cases: [string, number][] = [
    ['class:1', 1],
    ['conv2:3', 2],
    ['conv2:1@2,0', 3],
    ['block1/3x3-reduce', 4],
    ['0.5*class:goldfish + conv2:0 - act2:0', 5],
  ];
  for (const [objective, seed] of cases)
    it(`d objective / d image: ${objective}`, async () => {
      const err = await gradientErrors(objective, ['image'], seed, TINY_LABELS);
      expect(err.direction).toBeLessThan(TOL);
      expect(err.coordinates).toBeLessThan(TOL);
    });

  it('with respect to the image and conv weights together (as training needs)', async () => {
    const err = await gradientErrors('class:2 - 0.3*conv2:4', ['image', 'conv1.W', 'fc.b'], 6);
    expect(err.direction).toBeLessThan(TOL);
    expect(err.coordinates).toBeLessThan(TOL);
  });

  it('each batch item gets the gradient of its own objective only', async () => {
    const model = tinyCnn(N);
    const prog = await ObjectiveGradient.create(model, { objective: 'conv2:2', threads: 1 });
    const image = randomInput(new Rng(8), [N, 3, 6, 6]);
    const both = await prog.run({ image });
    // Change item 1 only: item 0's gradient and objective stay exactly the same.
    const changed = { ...image, data: (image.data as Float32Array).map((v, k) => (k >= 108 ? v * 0.5 + 0.1 : v)) };
    const other = await prog.run({ image: changed });
    const g0 = (both.grads.get('image')!.data as Float32Array).subarray(0, 108);
    const h0 = (other.grads.get('image')!.data as Float32Array).subarray(0, 108);
    expect([...h0]).toEqual([...g0]);
    expect(other.perItem[0]).toBe(both.perItem[0]);
    expect(other.perItem[1]).not.toBe(both.perItem[1]);
    await prog.release();
  });
});
