// Gaussian blur every k steps, with Yosinski et al.'s clipping of pixels of small norm or small
// contribution to the objective.
import { clipPixels, gaussianBlur } from './filters.ts';
import type { Filter } from './penalty.ts';

export interface BlurFilterOptions {
  every: number;
  sigma: number;
  /** Zero pixels below these percentiles of norm / contribution (0: off). */
  clipNormPercentile?: number;
  clipContributionPercentile?: number;
}

export function blur(o: BlurFilterOptions): Filter {
  const normPercentile = o.clipNormPercentile ?? 0;
  const contributionPercentile = o.clipContributionPercentile ?? 0;
  return {
    name: 'blur',
    every: o.every,
    apply(x, grad) {
      const blurred = gaussianBlur(x, o.sigma);
      if (!normPercentile && !contributionPercentile) return { image: blurred };
      const c = clipPixels(blurred, grad, { normPercentile, contributionPercentile });
      return { image: c.image, clipped: c.clipped.reduce((s, v) => s + v, 0) };
    },
  };
}
