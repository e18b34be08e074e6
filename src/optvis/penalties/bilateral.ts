// A bilateral filter every k steps: smooths within regions, keeps edges.
import { bilateralFilter } from './filters.ts';
import type { Filter } from './penalty.ts';

export interface BilateralFilterOptions {
  every: number;
  sigmaSpatial: number;
  sigmaRange: number;
}

export function bilateral(o: BilateralFilterOptions): Filter {
  return { name: 'bilateral', every: o.every, apply: (x) => ({ image: bilateralFilter(x, { sigmaSpatial: o.sigmaSpatial, sigmaRange: o.sigmaRange }) }) };
}
