// The atlas's plan: shards in a fixed order, batches of units, content-addressed keys that change with
// every part of what makes a render's bytes and with nothing else; the batch chosen by memory.
import { describe, expect, it } from 'vitest';
import { chooseBatch, bytesPerItem } from '../src/atlas/batch-size.ts';
import { parseUnits, planAtlas, renderIdentity, unitKey, type AtlasSettings, type RenderShard } from '../src/atlas/plan.ts';
import { loadAtBatch } from '../src/onnx/prepare.ts';
import { resolveClassifier } from '../src/models/registry.ts';

const settings = (over: Partial<AtlasSettings> = {}): AtlasSettings => ({
  model: { spec: 'm', file: 'm.onnx', sha256: 'a'.repeat(64) },
  layers: [
    { name: 'l1', tensor: 'l1', channels: 5, shape: [5, 4, 4] },
    { name: 'l2', tensor: 'l2', channels: 3, shape: [3] },
  ],
  methods: ['fourier', 'naive'],
  seeds: 2,
  steps: 10,
  batch: 2,
  ...over,
});

const renders = (p: ReturnType<typeof planAtlas>) => p.shards.filter((s): s is RenderShard => s.kind === 'render');

describe('planAtlas', () => {
  it('cuts every layer x method x seed into batches of units, in order', () => {
    const p = planAtlas(settings());
    // l1: 5 units -> 3 shards, l2: 3 units -> 2 shards; x 2 methods x 2 seeds
    expect(renders(p)).toHaveLength((3 + 2) * 2 * 2);
    expect(p.renders).toBe((5 + 3) * 2 * 2);
    expect(renders(p).slice(0, 3).map((s) => s.units)).toEqual([[0, 1], [2, 3], [4]]);
    expect(renders(p)[3]).toMatchObject({ layer: 'l1', method: 'fourier', seed: 1, units: [0, 1] });
    expect(new Set(p.shards.map((s) => s.key)).size).toBe(p.shards.length);
    expect(planAtlas(settings())).toEqual(p);
  });

  it('keeps the --units asked for, and refuses one a layer lacks', () => {
    const p = planAtlas(settings({ layers: [settings().layers[0]!], units: [1, 3, 4] }));
    expect(renders(p).filter((s) => s.method === 'fourier' && s.seed === 0).map((s) => s.units)).toEqual([[1, 3], [4]]);
    expect(() => planAtlas(settings({ units: [4] }))).toThrow(/unit 4 is out of range: 'l2' has units 0..2/);
    expect(parseUnits('0-2,7,1')).toEqual([0, 1, 2, 7]);
    expect(() => parseUnits('3-1')).toThrow(/runs backwards/);
  });

  it('gives a method its own batch where the plan says so', () => {
    const p = planAtlas(settings({ methods: ['fourier', 'dgn'], methodBatch: { dgn: 1 }, generator: { spec: 'g', file: 'g.onnx', sha256: 'b'.repeat(64) } }));
    expect(renders(p).filter((s) => s.method === 'dgn' && s.layer === 'l1' && s.seed === 0)).toHaveLength(5);
    expect(renders(p).filter((s) => s.method === 'fourier' && s.layer === 'l1' && s.seed === 0)).toHaveLength(3);
  });

  it('names a render by model, tensor, unit, method, steps, batch and seed, and by nothing else', () => {
    const s = settings();
    const shard = renders(planAtlas(s))[0]!;
    const key = unitKey(renderIdentity(s, shard), 0);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(unitKey(renderIdentity(settings({ model: { ...s.model, spec: 'other', file: 'x.onnx' } }), shard), 0)).toBe(key);
    expect(unitKey(renderIdentity(s, shard), 1)).not.toBe(key);
    for (const other of [
      settings({ model: { ...s.model, sha256: 'c'.repeat(64) } }),
      settings({ steps: 11 }),
      settings({ batch: 3 }),
    ])
      expect(unitKey(renderIdentity(other, shard), 0)).not.toBe(key);
    expect(unitKey(renderIdentity(s, { ...shard, seed: 1 }), 0)).not.toBe(key);
    expect(unitKey(renderIdentity(s, { ...shard, method: 'naive' }), 0)).not.toBe(key);
    expect(unitKey(renderIdentity(s, { ...shard, units: [0, 2] }), 0)).not.toBe(key);
  });
});

describe('chooseBatch', () => {
  const model = loadAtBatch(resolveClassifier('embedded').modelPath, 1, [32, 32]);

  it('fits the activations of a batch in a quarter of the free memory, at most 32', () => {
    const per = bytesPerItem(model) * 3;
    expect(per).toBeGreaterThan(1e6);
    expect(chooseBatch(model, { freeBytes: 64 * 1024 ** 3 }).batch).toBe(32);
    expect(chooseBatch(model, { freeBytes: per * 4 * 5.5 }).batch).toBe(5);
    expect(chooseBatch(model, { freeBytes: 1 }).batch).toBe(1);
  });
});
