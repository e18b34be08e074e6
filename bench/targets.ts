// The summary line: the acceptance targets of the gradient engine, judged on this run's lines
// (null where a line did not run).
import type { Bench, BenchLine } from './registry.ts';

function num(line: BenchLine | undefined, field: string): number | null {
  const v = line?.[field];
  return typeof v === 'number' ? v : null;
}

const atLeast = (v: number | null, t: number) => (v === null ? null : v >= t);
const below = (v: number | null, t: number) => (v === null ? null : v < t);

export const targetsBench: Bench = {
  key: 't',
  name: 'targets',
  description: 'acceptance targets: (a), (b) >= 40% of the MatMul peak; (a) >= 10x (d); peak RSS of (a)+(b) < 2 GB',
  async run(ctx) {
    const a = num(ctx.lines.get('a_googlenet_grad'), 'ratio_to_peak');
    const b = num(ctx.lines.get('b_generator_grad'), 'ratio_to_peak');
    const speedup = num(ctx.lines.get('d_tfjs_wasm_googlenet_grad'), 'speedup_a_vs_d');
    const rss = num(ctx.lines.get('rss_ab'), 'rss_mb');
    ctx.emit({
      bench: this.name,
      a_ratio: a,
      b_ratio: b,
      // The same fractions taken round by round beside a MatMul (median), for a drifting machine.
      a_ratio_paired: num(ctx.lines.get('a_googlenet_grad'), 'ratio_paired_median'),
      b_ratio_paired: num(ctx.lines.get('b_generator_grad'), 'ratio_paired_median'),
      a_vs_d: speedup,
      rss_ab_mb: rss,
      targets: {
        'a_ratio>=0.4': atLeast(a, 0.4),
        'b_ratio>=0.4': atLeast(b, 0.4),
        'a_vs_d>=10': atLeast(speedup, 10),
        'rss_ab<2048MB': below(rss, 2048),
      },
    });
  },
};
