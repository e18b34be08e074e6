// Total variation as a penalty: neighbouring pixels pulled together (squared differences by default).
import { totalVariation, type TvOptions } from './filters.ts';
import type { Penalty } from './penalty.ts';

export function tv(weight: number, o: TvOptions = {}): Penalty {
  return { name: 'tv', weight, gradient: (x) => totalVariation(x, o).grad };
}
