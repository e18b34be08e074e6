// `npm run bench -- --only ...`: the selection pulls in what a bench reads, keeps the run order, and
// always ends with the targets summary.
import { describe, expect, it } from 'vitest';
import { BENCHES, selectBenches } from '../bench/benches.ts';

const keys = (only?: string[]) => selectBenches(only).map((b) => b.key);

describe('bench selection', () => {
  it('runs everything but the opt-in benches by default, the MatMul peak first and the targets last', () => {
    expect(keys()).toEqual(BENCHES.filter((b) => !b.optIn).map((b) => b.key));
    expect(keys()).not.toContain('quality');
    expect(keys()[0]).toBe('c');
    expect(keys().at(-1)).toBe('t');
  });

  it('--only a,c gives the peak, (a) and the summary, in run order', () => {
    expect(keys(['a', 'c'])).toEqual(['c', 'a', 't']);
    expect(keys(['a'])).toEqual(['c', 'a', 't']);
  });

  it('pulls in what a line reads: rss_ab needs (a) and (b); names work as well as keys', () => {
    expect(keys(['rss'])).toEqual(['c', 'a', 'b', 'rss', 't']);
    expect(keys(['d_tfjs_wasm_googlenet_grad'])).toEqual(['c', 'd', 't']);
  });

  it('an opt-in bench runs when named', () => {
    expect(keys(['quality'])).toEqual(['quality', 't']);
  });

  it('rejects an unknown bench, naming the choices', () => {
    expect(() => keys(['zz'])).toThrow(/unknown bench 'zz'; choose from c, a, b/);
  });
});
