// The project's one seedable PRNG (mulberry32) with normal samples: same seed, same numbers, on every machine.
// Seeded runs, test fixtures and the architecture twins' random weights all draw from it.
export class Rng {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = (seed >>> 0) ^ 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  fillNormal<T extends Float32Array | Float64Array>(a: T, std = 1, mean = 0): T {
    for (let i = 0; i < a.length; i++) a[i] = mean + std * this.normal();
    return a;
  }

  fillUniform<T extends Float32Array | Float64Array>(a: T, lo = 0, hi = 1): T {
    for (let i = 0; i < a.length; i++) a[i] = this.uniform(lo, hi);
    return a;
  }
}

/** A seed derived from a base seed and a name (FNV-1a), so each named stream does not depend on the others. */
export function subSeed(seed: number, name: string): number {
  let h = (Math.trunc(seed) ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
