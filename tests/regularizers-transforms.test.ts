import { describe, expect, it } from 'vitest';
import { dot, nchw, type Nchw, type Size2 } from '../src/image/nchw.ts';
import {
  Chain,
  crop,
  fitTo,
  jitter,
  pad,
  randomRoll,
  resize,
  roll,
  randomRotate,
  randomScale,
  robustChain,
  robustPipeline,
  rotate,
  scale,
  type Transform,
} from '../src/optvis/transforms/transforms.ts';
import { Rng } from '../src/util/rng.ts';

function randomImage(rng: Rng, n: number, c: number, size: Size2): Nchw {
  const x = nchw(n, c, size[0], size[1]);
  rng.fillNormal(x.data);
  return x;
}

/** <A x, y> against <x, A^T y>, A the linear part: A x = T(x) - T(0). */
function dotTestError(t: Transform, seed: number, n = 2, c = 3): number {
  const rng = new Rng(seed);
  const x = randomImage(rng, n, c, t.inSize);
  const tx = t.apply(x).data;
  const t0 = t.apply(nchw(n, c, t.inSize[0], t.inSize[1])).data;
  const ax = new Float64Array(tx.length);
  for (let i = 0; i < ax.length; i++) ax[i] = tx[i]! - t0[i]!;
  const y = randomImage(rng, n, c, t.outSize);
  const lhs = dot(ax, y.data);
  const rhs = dot(x.data, t.adjoint(y).data);
  return Math.abs(lhs - rhs) / Math.max(Math.abs(lhs), Math.abs(rhs), 1e-30);
}

describe('transform adjoints pass the dot-product test', () => {
  const size: Size2 = [23, 31];
  const cases: [string, () => Transform][] = [
    ['pad constant 0.5', () => pad(size, 5)],
    ['pad reflect', () => pad(size, 7, { mode: 'reflect' })],
    ['pad zero', () => pad(size, 3, { mode: 'constant', value: 0 })],
    ['crop', () => crop(size, [15, 20], 4, 9)],
    ['jitter', () => jitter(new Rng(3), size, 6)],
    ['scale up 1.37', () => scale(size, 1.37)],
    ['scale down 0.9', () => scale(size, 0.9)],
    ['random scale', () => randomScale(new Rng(5), size)],
    ['rotate 10 constant', () => rotate(size, 10)],
    ['rotate -33 reflect', () => rotate(size, -33, { mode: 'reflect' })],
    ['random rotate', () => randomRotate(new Rng(8), size, { min: -10, max: 10 })],
    ['roll (wrap border)', () => roll(size, 5, -9)],
    ['random roll', () => randomRoll(new Rng(2), size, 32)],
    ['resize down, edge border', () => resize(size, [10, 13])],
    ['rotate 25 edge border', () => rotate(size, 25, { mode: 'edge' })],
    ['fit crop (pads when larger)', () => fitTo(size, [40, 28], 'crop')],
    ['fit resize', () => fitTo(size, [32, 32], 'resize')],
    ['chain', () => new Chain([pad(size, 4), rotate([31, 39], 7), scale([31, 39], 1.1), crop([34, 42], [30, 30], 2, 3)])],
  ];
  for (const [name, make] of cases) {
    it(name, () => {
      expect(dotTestError(make(), 11)).toBeLessThan(1e-5);
    });
  }

  it('the fused robust pipeline and its chained form, over many draws, 224 -> 224', () => {
    const rng = new Rng(42);
    for (let i = 0; i < 6; i++) {
      expect(dotTestError(robustPipeline(rng, [224, 224]), 100 + i, 1, 3)).toBeLessThan(1e-5);
    }
    const chainRng = new Rng(7);
    expect(dotTestError(robustChain(chainRng, [64, 64], { outSize: [56, 56] }), 3, 2, 3)).toBeLessThan(1e-5);
    expect(dotTestError(robustPipeline(new Rng(9), [64, 64], { outSize: [80, 80], fit: 'resize', border: { mode: 'reflect' } }), 4)).toBeLessThan(1e-5);
  });
});

describe('transforms do what they say', () => {
  it('pad fills the border with 0.5 and copies the middle', () => {
    const x = randomImage(new Rng(1), 1, 3, [4, 5]);
    const y = pad([4, 5], 2).apply(x);
    expect(y.dims).toEqual([1, 3, 8, 9]);
    expect(y.data[0]).toBeCloseTo(0.5, 7);
    expect(y.data[9 * 2 + 2]).toBe(x.data[0]);
    expect(y.data[72 + 9 * 5 + 6]).toBe(x.data[20 + 3 * 5 + 4]);
  });

  it('reflect pad mirrors without repeating the edge (TF REFLECT)', () => {
    const x = nchw(1, 1, 1, 4, new Float32Array([1, 2, 3, 4]));
    const y = pad([1, 4], 2, { mode: 'reflect' }).apply(x);
    expect(Array.from(y.data.subarray(2 * 8, 3 * 8))).toEqual([3, 2, 1, 2, 3, 4, 3, 2]);
  });

  it('roll is np.roll: a circular shift, content moving down and right', () => {
    const x = nchw(1, 1, 2, 3, new Float32Array([1, 2, 3, 4, 5, 6]));
    expect(Array.from(roll([2, 3], 1, 1).apply(x).data)).toEqual([6, 4, 5, 3, 1, 2]);
    expect(Array.from(roll([2, 3], 0, -1).apply(x).data)).toEqual([2, 3, 1, 5, 6, 4]);
  });

  it('resize keeps a constant image constant up to the edges', () => {
    const x = nchw(1, 1, 9, 9, new Float32Array(81).fill(0.25));
    for (const v of resize([9, 9], [4, 6]).apply(x).data) expect(v).toBeCloseTo(0.25, 6);
  });

  it('jitter is a crop at a random offset within 0..d', () => {
    const x = randomImage(new Rng(2), 1, 1, [10, 10]);
    const offsets = new Set<string>();
    const rng = new Rng(4);
    for (let i = 0; i < 40; i++) {
      const t = jitter(rng, [10, 10], 2);
      const [oy, ox] = t.params.offset as number[];
      offsets.add(`${oy},${ox}`);
      const y = t.apply(x);
      expect(y.dims).toEqual([1, 1, 8, 8]);
      expect(y.data[3 * 8 + 5]).toBe(x.data[(3 + oy!) * 10 + 5 + ox!]);
    }
    expect(offsets.size).toBe(9);
  });

  it('rotating a square by 90 degrees permutes pixels exactly (counterclockwise)', () => {
    const x = randomImage(new Rng(3), 1, 1, [5, 5]);
    const y = rotate([5, 5], 90).apply(x);
    // Content below the centre moves to its right.
    for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) expect(y.data[r * 5 + c]).toBeCloseTo(x.data[c * 5 + (4 - r)]!, 5);
  });

  it('scaling a linear ramp keeps it linear and a constant image constant', () => {
    const x = nchw(1, 2, 20, 20);
    for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) {
      x.data[i * 20 + j] = 0.3;
      x.data[400 + i * 20 + j] = j;
    }
    const y = scale([20, 20], 1.5).apply(x);
    expect(y.dims).toEqual([1, 2, 30, 30]);
    for (let i = 3; i < 27; i++) for (let j = 3; j < 27; j++) {
      expect(y.data[i * 30 + j]).toBeCloseTo(0.3, 6);
      expect(y.data[900 + i * 30 + j]).toBeCloseTo((j + 0.5) / 1.5 - 0.5, 4);
    }
  });

  it('the fused pipeline equals the chained one exactly when only integer shifts are drawn', () => {
    const o = { scales: [1], rotate: [0], outSize: [60, 60] as Size2 };
    const x = randomImage(new Rng(5), 2, 3, [64, 64]);
    const fused = robustPipeline(new Rng(12), [64, 64], o);
    const chained = robustChain(new Rng(12), [64, 64], o);
    expect(fused.params).toEqual(chained.params);
    expect(Array.from(fused.apply(x).data)).toEqual(Array.from(chained.apply(x).data));
  });

  it('the fused pipeline is close to the chained one on a smooth image with scale and rotation', () => {
    const x = nchw(1, 1, 64, 64);
    for (let i = 0; i < 64; i++) for (let j = 0; j < 64; j++) x.data[i * 64 + j] = 0.5 + 0.4 * Math.sin(i / 6) * Math.cos(j / 9);
    const o = { scales: [1.1], rotate: [8] };
    const a = robustPipeline(new Rng(1), [64, 64], o).apply(x).data;
    const b = robustChain(new Rng(1), [64, 64], o).apply(x).data;
    let err = 0;
    for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
    expect(err).toBeLessThan(0.02);
  });

  it('same seed, same transform; the output has the classifier size', () => {
    const a = robustPipeline(new Rng(77), [224, 224]);
    const b = robustPipeline(new Rng(77), [224, 224]);
    expect(a.params).toEqual(b.params);
    expect(a.outSize).toEqual([224, 224]);
    expect(robustPipeline(new Rng(1), [128, 128], { outSize: [224, 224], fit: 'resize' }).outSize).toEqual([224, 224]);
  });

  it('rejects mismatched shapes with one line', () => {
    expect(() => pad([8, 8], 2).apply(nchw(1, 3, 9, 8))).toThrow(/expected images of 8x8, got 9x8/);
    expect(() => jitter(new Rng(1), [4, 4], 4)).toThrow(/does not fit/);
  });
});

describe('speed at 224', () => {
  it('robust pipeline: sample + apply + adjoint of a 1x3x224x224 image in a few ms', () => {
    const x = randomImage(new Rng(1), 1, 3, [224, 224]);
    const rng = new Rng(2);
    for (let i = 0; i < 5; i++) robustPipeline(rng, [224, 224]).adjoint(robustPipeline(rng, [224, 224]).apply(x));
    const reps = 20;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) {
      const t = robustPipeline(rng, [224, 224]);
      t.adjoint(t.apply(x));
    }
    const ms = (performance.now() - t0) / reps;
    console.log(`robust pipeline 3x224x224 sample+apply+adjoint: ${ms.toFixed(2)} ms`);
    expect(ms).toBeLessThan(25);
  });
});
