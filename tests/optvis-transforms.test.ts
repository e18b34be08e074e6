// Transform samplers compose as a list (Lucid's `transforms=[pad(12), jitter(8), ...]`): the list
// draws what robustChain draws, applies the same map, and its adjoint is the exact transpose.
import { describe, expect, it } from 'vitest';
import { nchw, type Nchw } from '../src/image/nchw.ts';
import { compose, fitting, jittering, padding, robustChain, rotating, scaling } from '../src/optvis/transforms/index.ts';
import { Rng } from '../src/util/rng.ts';

function random(rng: Rng, n: number, h: number, w: number): Nchw {
  const x = nchw(n, 3, h, w);
  for (let i = 0; i < x.data.length; i++) x.data[i] = rng.uniform(0, 1);
  return x;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('a composed list of transform samplers', () => {
  const size = [17, 15] as const;
  const outSize = [16, 16] as const;
  const list = compose([padding(3), jittering(2), scaling({ min: 0.8, max: 1.2 }), rotating({ min: -20, max: 20 }), jittering(1), fitting(outSize)]);

  it('draws and applies what robustChain does with the same rng', () => {
    for (let seed = 0; seed < 6; seed++) {
      const x = random(new Rng(100 + seed), 2, ...size);
      const t = list(new Rng(seed), size);
      const ref = robustChain(new Rng(seed), size, { pad: 3, jitter: 2, scales: { min: 0.8, max: 1.2 }, rotate: { min: -20, max: 20 }, jitter2: 1, outSize });
      expect(t.outSize).toEqual(outSize);
      const y = t.apply(x);
      expect(y.dims).toEqual([2, 3, 16, 16]);
      expect(maxDiff(y.data, ref.apply(x).data)).toBeLessThan(1e-5);
      const gy = random(new Rng(200 + seed), 2, ...outSize);
      expect(maxDiff(t.adjoint(gy).data, ref.adjoint(gy).data)).toBeLessThan(1e-5);
    }
  });

  it('has the exact adjoint: <T x - T 0, y> = <x, T^T y>', () => {
    for (let seed = 0; seed < 4; seed++) {
      const t = list(new Rng(seed), size);
      const x = random(new Rng(300 + seed), 1, ...size);
      const y = random(new Rng(400 + seed), 1, ...outSize);
      // The grey border is an affine offset: subtract T(0) to get the linear part.
      const lin = t.apply(x).data.map((v, i) => v - t.apply(nchw(1, 3, ...size)).data[i]!);
      const lhs = dot(lin, y.data);
      const rhs = dot(x.data, t.adjoint(y).data);
      expect(Math.abs(lhs - rhs) / Math.abs(rhs)).toBeLessThan(1e-5);
    }
  });
});
