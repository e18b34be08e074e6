// npm run bench [-- --only a,c] [-- --list]
// Prints one JSON line per measurement on stdout (progress on stderr). Ratios are measured within the run:
// the MatMul peak (c) runs first and every GFLOP/s figure is divided by it.
import { BENCHES, selectBenches } from './benches.ts';
import type { BenchContext, BenchLine } from './registry.ts';
import { round } from './registry.ts';
import { peakRssMb } from './timing.ts';

function usage(): string {
  const rows = BENCHES.map((b) => `  ${b.key.padEnd(4)} ${b.name.padEnd(28)} ${b.description}`);
  return ['usage: npm run bench [-- --only KEY,KEY...] [-- --list]', 'benches (run in this order):', ...rows].join('\n');
}

function parseArgs(argv: string[]): { only?: string[]; list: boolean } {
  let only: string[] | undefined;
  let list = false;
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === '--list' || a === '--help' || a === '-h') list = true;
    else if (a === '--only') only = (argv[++k] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) only = a.slice(7).split(',').filter(Boolean);
    else throw new Error(`unknown argument '${a}'\n${usage()}`);
  }
  return { only, list };
}

function makeContext(): BenchContext {
  const lines = new Map<string, BenchLine>();
  const shared = new Map<string, Promise<unknown>>();
  return {
    lines,
    peak() {
      const g = lines.get('c_matmul_peak')?.['gflops'];
      return typeof g === 'number' ? g : undefined;
    },
    shared<T>(key: string, make: () => T | Promise<T>): Promise<T> {
      let p = shared.get(key) as Promise<T> | undefined;
      if (!p) {
        p = Promise.resolve().then(make);
        shared.set(key, p);
      }
      return p;
    },
    emit(line) {
      const full = 'rss_mb' in line ? line : { ...line, rss_mb: round(peakRssMb(), 1) };
      lines.set(full.bench, full);
      process.stdout.write(`${JSON.stringify(full)}\n`);
      return full;
    },
    log(message) {
      process.stderr.write(`[bench] ${message}\n`);
    },
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    process.stderr.write(`${usage()}\n`);
    return 0;
  }
  const ctx = makeContext();
  let failed = 0;
  for (const b of selectBenches(args.only)) {
    const t0 = performance.now();
    ctx.log(`${b.key}: ${b.name} ...`);
    try {
      await b.run(ctx);
    } catch (e) {
      failed++;
      const msg = e instanceof Error ? e.message : String(e);
      ctx.emit({ bench: b.name, error: msg.replace(/\s+/g, ' ').slice(0, 500) });
    }
    ctx.log(`${b.key}: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
