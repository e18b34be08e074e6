// What a bench is, and what it gets to work with. Every bench prints JSON lines (one per measurement)
// through `ctx.emit`; ratios are taken against lines of the same run (the MatMul peak above all).
import { peakRssMb } from './timing.ts';

export interface BenchLine {
  bench: string;
  [field: string]: unknown;
}

export interface BenchContext {
  /** Lines emitted so far in this run, by `bench` name. */
  readonly lines: Map<string, BenchLine>;
  /** GFLOP/s of this run's MatMul peak line (undefined when it did not run). */
  peak(): number | undefined;
  /** A value shared between benches of one run (a prepared twin, a measured gradient), made once. */
  shared<T>(key: string, make: () => T | Promise<T>): Promise<T>;
  /** Prints one line (adding rss_mb, the process' peak RSS so far, unless set). */
  emit(line: BenchLine): BenchLine;
  /** Progress for humans, on stderr. */
  log(message: string): void;
}

export interface Bench {
  /** Short id for `--only` (e.g. 'a', 'c'). */
  key: string;
  /** Name of its main line. */
  name: string;
  description: string;
  /** Keys of benches that must run before (their lines are read); `--only` pulls them in. */
  needs?: string[];
  /**
   * Run in a child process, so its lines' rss_mb is the peak RSS of this bench alone (VmHWM is a
   * process-wide high-water mark). It then sees ctx.peak() but no other line or shared value.
   */
  isolated?: boolean;
  /** Runs only when named with --only (a long measurement, not a timing). */
  optIn?: boolean;
  run(ctx: BenchContext): Promise<void>;
}

/** A line for a timed piece of work with a known FLOP count: GFLOP/s and the fraction of the peak. */
export function flopLine(ctx: BenchContext, bench: string, ms: number, flops: number, extra: Record<string, unknown> = {}): BenchLine {
  const gflops = flops / (ms * 1e6);
  const peak = ctx.peak();
  return ctx.emit({
    bench,
    ms: round(ms, 2),
    gflops: round(gflops, 2),
    ratio_to_peak: peak ? round(gflops / peak, 3) : null,
    rss_mb: round(peakRssMb(), 1),
    gflop: round(flops / 1e9, 4),
    ...extra,
  });
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
