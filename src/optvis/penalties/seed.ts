// ||x - seed||^2 per image with an absolute weight: feature accentuation's pull back to the image it started from.
import { nchw, type Nchw } from '../../image/nchw.ts';
import type { Penalty } from './penalty.ts';

export function seedDistance(seed: Nchw, weight: number): Penalty {
  return {
    name: 'seed-l2',
    weight,
    absolute: true,
    gradient(x: Nchw): Nchw {
      const g = nchw(...x.dims);
      for (let k = 0; k < x.data.length; k++) g.data[k] = 2 * (x.data[k]! - seed.data[k]!);
      return g;
    },
  };
}
