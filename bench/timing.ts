// Timing and memory helpers shared by the bench functions.
import { readFileSync } from 'node:fs';

/** Best wall time in ms of `runs` calls after `warmup` untimed calls. */
export async function bestOf(runs: number, fn: () => unknown, warmup = 1): Promise<number> {
  for (let k = 0; k < warmup; k++) await fn();
  let best = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/** Median wall time in ms of `runs` calls after `warmup` untimed calls. */
export async function medianOf(runs: number, fn: () => unknown, warmup = 1): Promise<number> {
  for (let k = 0; k < warmup; k++) await fn();
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * `rounds` rounds of one call of `work` then one call of `reference`, each timed: on a shared machine whose
 * speed drifts, the ratio of two figures taken in the same round compares like with like.
 */
export async function pairedTimes(rounds: number, work: () => unknown, reference: () => unknown): Promise<{ work: number[]; reference: number[] }> {
  const out = { work: [] as number[], reference: [] as number[] };
  for (let k = 0; k < rounds; k++) {
    let t0 = performance.now();
    await work();
    out.work.push(performance.now() - t0);
    t0 = performance.now();
    await reference();
    out.reference.push(performance.now() - t0);
  }
  return out;
}

export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)]!;
}

/** Peak resident set size of this process so far, in MB (VmHWM; maxRSS where /proc is absent). */
export function peakRssMb(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Current resident set size in MB. */
export function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** The 1-minute load average, to judge how quiet the machine was. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}
