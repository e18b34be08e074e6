// L2 decay as a penalty: sum (x - centre)^2, pulling every pixel towards grey.
import { l2Penalty, type Center } from './filters.ts';
import type { Penalty } from './penalty.ts';

export function l2(weight: number, center: Center = 0.5): Penalty {
  return { name: 'l2', weight, gradient: (x) => l2Penalty(x, center).grad };
}
