// A program compiled with its objective's masks as inputs takes another objective on the same tensors
// without a compile (the atlas keeps one warm per thread): the retargeted program computes what a program
// compiled for that objective computes, bit for bit, and one on other branches is refused.
import { describe, expect, it } from 'vitest';
import { resolveClassifier } from '../src/models/registry.ts';
import { loadPrepared } from '../src/optvis/render/visualize.ts';
import { ObjectiveGradient } from '../src/optvis/objectives/gradient.ts';
import { channel, classLogit, layer } from '../src/optvis/objectives/api.ts';
import { resolveLayers } from '../src/atlas/atlas.ts';
import { planAtlas, type RenderShard } from '../src/atlas/plan.ts';
import { programUse, releaseWarmProgram, renderBatch, shardObjective } from '../src/atlas/render.ts';
import { Rng } from '../src/util/rng.ts';
import { randomInput } from './helpers/models.ts';

const cls = resolveClassifier('embedded');
const BLOCK = 'inception_4a/output';
const model = loadPrepared(cls.modelPath, 2, cls.card.input.size);
const feeds = { data: randomInput(new Rng(9), [2, 3, 32, 32]) };

async function result(prog: ObjectiveGradient) {
  const r = await prog.run(feeds);
  return { perItem: r.perItem, grad: Array.from(r.grads.get('data')!.data as Float32Array) };
}

describe('retargeting a compiled objective', () => {
  it('gives the program another pair of units in the same branches: the same numbers as compiling it', async () => {
    // 3 and 20 are in the 1x1 branch (0..31), 40 and 70 in the 3x3 branch (32..95).
    const first = shardObjective(BLOCK, [3, 40]);
    const second = shardObjective(BLOCK, [20, 70]);
    const warm = await ObjectiveGradient.create(model, { objective: first, masksAsInputs: true, threads: 1 });
    const fresh = await ObjectiveGradient.create(model, { objective: second, masksAsInputs: true, threads: 1 });
    const constant = await ObjectiveGradient.create(model, { objective: second, threads: 1 });
    try {
      const before = await result(warm);
      expect(warm.retarget(second)).toBe(true);
      const after = await result(warm);
      expect(after.perItem).not.toEqual(before.perItem);
      expect(after).toEqual(await result(fresh));
      expect(warm.terms.map((t) => t.label)).toEqual(fresh.terms.map((t) => t.label));
      const c = await result(constant);
      c.perItem.forEach((v, k) => expect(after.perItem[k]).toBeCloseTo(v, 5));
      const scale = Math.max(...c.grad.map(Math.abs));
      expect(Math.max(...c.grad.map((v, k) => Math.abs(v - after.grad[k]!))) / scale).toBeLessThan(1e-5);
    } finally {
      await warm.release();
      await fresh.release();
      await constant.release();
    }
  });

  it('refuses units on other branches, other layers, layer terms and programs without mask inputs', async () => {
    const warm = await ObjectiveGradient.create(model, { objective: shardObjective(BLOCK, [3, 4]), masksAsInputs: true, threads: 1 });
    const plain = await ObjectiveGradient.create(model, { objective: shardObjective(BLOCK, [3, 4]), threads: 1 });
    try {
      expect(warm.retarget(shardObjective(BLOCK, [3, 40]))).toBe(false);
      // The 5x5 branch (96..111) and the pool branch (112..127) have the same shape: told apart by tensor.
      const fiveByFive = await ObjectiveGradient.create(model, { objective: shardObjective(BLOCK, [96, 97]), masksAsInputs: true, threads: 1 });
      try {
        expect(fiveByFive.retarget(shardObjective(BLOCK, [112, 113]))).toBe(false);
        expect(fiveByFive.retarget(shardObjective(BLOCK, [110, 111]))).toBe(true);
      } finally {
        await fiveByFive.release();
      }
      expect(warm.retarget(shardObjective('inception_3a/output', [3, 4]))).toBe(false);
      expect(warm.retarget(channel(BLOCK, 3).batch(0).plus(layer(BLOCK)))).toBe(false);
      expect(warm.retarget(classLogit(2))).toBe(false);
      expect(plain.retarget(shardObjective(BLOCK, [5, 6]))).toBe(false);
      // A layer term is compiled into the graph: a program made with one cannot drop it by a retarget.
      const withLayer = await ObjectiveGradient.create(model, { objective: shardObjective(BLOCK, [3, 4]).plus(layer(BLOCK)), masksAsInputs: true, threads: 1 });
      try {
        expect(withLayer.retarget(shardObjective(BLOCK, [5, 6]))).toBe(false);
      } finally {
        await withLayer.release();
      }
      expect(warm.retarget(shardObjective(BLOCK, [5, 6]))).toBe(true);
    } finally {
      await warm.release();
      await plain.release();
    }
  });

  it("renders an atlas shard on the previous shard's warm program exactly as on a new one", async () => {
    const layers = resolveLayers(cls, BLOCK);
    const plan = planAtlas({ model: { spec: 'embedded', file: 'classifier.onnx', sha256: 'retarget-test' }, layers, methods: ['fourier'], seeds: 1, steps: 16, batch: 2, units: [0, 1, 2, 3] });
    const [a, b] = plan.shards.filter((s): s is RenderShard => s.kind === 'render');
    const ctx = { classifier: cls, threads: 1 };
    try {
      await renderBatch(ctx, plan, a!);
      const before = { ...programUse };
      const warm = await renderBatch(ctx, plan, b!);
      expect(programUse).toEqual({ compiled: before.compiled, retargeted: before.retargeted + 1 });
      await releaseWarmProgram();
      const fresh = await renderBatch(ctx, plan, b!);
      expect(programUse).toEqual({ compiled: before.compiled + 1, retargeted: before.retargeted + 1 });
      expect(warm.final).toEqual(fresh.final);
      expect(Buffer.from(warm.image.data.buffer).equals(Buffer.from(fresh.image.data.buffer))).toBe(true);
    } finally {
      await releaseWarmProgram();
    }
  });
});
