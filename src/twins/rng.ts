// A small seedable PRNG (splitmix32) with Box-Muller normals. Same seed, same numbers, on every machine:
// twins and random-weight conversions are reproducible from their seed alone.
export class SplitMix32 {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = (this.nextU32() + 1) / 4294967297; // in (0, 1): log(u) is finite
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill with N(mean, std^2) samples; the same sequence as calling normal() a.length times. */
  fillNormal(a: Float32Array, std = 1, mean = 0): Float32Array {
    let i = 0;
    if (this.spare !== undefined && a.length > 0) a[i++] = mean + std * this.normal();
    const twoPi = 2 * Math.PI;
    for (; i + 1 < a.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log((this.nextU32() + 1) / 4294967297));
      const t = twoPi * (this.nextU32() / 4294967296);
      a[i] = mean + std * r * Math.cos(t);
      a[i + 1] = mean + std * r * Math.sin(t);
    }
    if (i < a.length) a[i] = mean + std * this.normal();
    return a;
  }
}

/** A seed derived from a base seed and a name, so each layer's weights do not depend on the others. */
export function subSeed(seed: number, name: string): number {
  let h = (Math.trunc(seed) ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
