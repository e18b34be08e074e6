// The programmatic objective API (optvis/objectives/api.ts): objectives compose like Lucid's, compile to
// the same program as their text, batch-indexed terms act on their member only, and diversity is one
// more objective (the graph appendDiversity appends to the objective, as the old `extend` hook did).
import { describe, expect, it } from 'vitest';
import { channel, classLogit, diversity, FvizError, neuron, Objective, ObjectiveGradient, objective, parseObjective } from '../src/index.ts';
import { layer } from '../src/optvis/index.ts';
import { appendDiversity } from '../src/optvis/objectives/diversity.ts';
import { appendObjective } from '../src/optvis/objectives/build.ts';
import type { TensorData } from '../src/onnx/ir.ts';
import { Rng } from '../src/util/rng.ts';
import { randomInput } from './helpers/models.ts';
import { TINY_LABELS, tinyCnn } from './helpers/tiny-cnn.ts';

const N = 2;
const input: TensorData = randomInput(new Rng(11), [N, 3, 6, 6]);
const names = { labels: TINY_LABELS };

async function evaluate(obj: string | Objective) {
  const prog = await ObjectiveGradient.create(tinyCnn(N), { objective: obj, names, threads: 1 });
  try {
    const r = await prog.run({ image: input });
    return { value: r.value, perItem: r.perItem, grad: r.grads.get('image')!.data as Float32Array, labels: prog.terms.map((t) => t.label) };
  } finally {
    await prog.release();
  }
}

const row = (g: Float32Array, b: number) => Array.from(g.subarray((b * g.length) / N, ((b + 1) * g.length) / N));

describe('objectives as values', () => {
  it('compose with plus, minus, times and neg into the grammar', () => {
    const o = channel('conv2', 3).times(0.5).plus(classLogit('goldfish')).minus(neuron('conv2', 1, 2, 0)).plus(layer('block1/3x3-reduce').neg());
    expect(o.toString()).toBe('0.5*conv2:3 + class:goldfish - conv2:1@2,0 - block1/3x3-reduce');
    expect(parseObjective(o.toString()).terms).toEqual(o.terms);
    expect(objective('0.5*conv2:3 + class:2').terms).toEqual(channel('conv2', 3).times(0.5).plus(classLogit(2)).terms);
    expect(() => channel('conv2', 1).times(Number.NaN)).toThrow(FvizError);
    expect(() => diversity('conv2').batch(0)).toThrow(FvizError);
  });

  it('compile to the same program as their text', async () => {
    const text = '0.5*class:goldfish + conv2:0 - block1/3x3-reduce';
    const a = await evaluate(text);
    const b = await evaluate(classLogit('goldfish').times(0.5).plus(channel('conv2', 0)).minus(layer('block1/3x3-reduce')));
    expect(b.perItem).toEqual(a.perItem);
    expect(Array.from(b.grad)).toEqual(Array.from(a.grad));
  });

  it('a batch-indexed term acts on its member only', async () => {
    for (const o of [channel('conv2', 2), neuron('conv2', 1, 2, 0), layer('block1/3x3-reduce').times(2), classLogit(1)]) {
      const all = await evaluate(o);
      const second = await evaluate(o.batch(1));
      expect(second.perItem[0]).toBe(0);
      expect(second.perItem[1]).toBeCloseTo(all.perItem[1]!, 6);
      expect(row(second.grad, 0).every((v) => v === 0)).toBe(true);
      const g1 = row(second.grad, 1);
      const ref = row(all.grad, 1);
      const scale = Math.max(...ref.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      expect(Math.max(...g1.map((v, k) => Math.abs(v - ref[k]!))) / scale).toBeLessThan(1e-6);
      expect(second.labels[0]).toMatch(/\[1\]$/);
    }
    // Different units for different members, on the same tensor (one mask with a row per member).
    const mixed = await evaluate(channel('conv2', 2).batch(0).plus(channel('conv2', 4).batch(1)));
    const c2 = await evaluate(channel('conv2', 2));
    const c4 = await evaluate(channel('conv2', 4));
    expect(mixed.perItem[0]).toBeCloseTo(c2.perItem[0]!, 6);
    expect(mixed.perItem[1]).toBeCloseTo(c4.perItem[1]!, 6);
    await expect(evaluate(channel('conv2', 2).batch(2))).rejects.toThrow(/batch member 2.*0\.\.1/);
  });

  it('diversity is one more objective: the graph appendDiversity appends after the objective', async () => {
    const model = tinyCnn(N);
    const plainObj = appendObjective(model, 'conv2:1', names);
    const byHand = appendDiversity(plainObj, 'block1/3x3-reduce', 0.7); // appends to plainObj.model in place
    const built = appendObjective(model, channel('conv2', 1).plus(diversity('block1/3x3-reduce').times(0.7)), names);
    expect(built.scalar).toBe(byHand);
    const shape = (m: typeof built.model) => m.graph.nodes.map((n) => `${n.opType}:${n.inputs.join(',')}>${n.outputs.join(',')}`);
    expect(shape(built.model)).toEqual(shape(plainObj.model));
    const prog = await ObjectiveGradient.create(model, { objective: channel('conv2', 1).plus(diversity('block1/3x3-reduce').times(0.7)), names, threads: 1 });
    try {
      const r = await prog.run({ image: input });
      // The diversity term changes the differentiated scalar and its gradient, not the per-item objective.
      const plain = await evaluate('conv2:1');
      expect(r.perItem).toEqual(plain.perItem);
      expect(Math.abs(r.value - plain.value)).toBeGreaterThan(1e-4);
      expect(Array.from(r.grads.get('image')!.data as Float32Array)).not.toEqual(Array.from(plain.grad));
      await expect(evaluate(channel('conv2', 1).plus(diversity('nope')))).rejects.toThrow(/unknown tensor 'nope'/);
    } finally {
      await prog.release();
    }
  });
});
