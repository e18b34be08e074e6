// Penalties (differentiable, every step) and filters (every k steps): one file each.
export type { Penalty, Filter, FilterOutput } from './penalty.ts';
export { l2 } from './l2.ts';
export { tv } from './tv.ts';
export { blur, type BlurFilterOptions } from './blur.ts';
export { bilateral, type BilateralFilterOptions } from './bilateral.ts';
