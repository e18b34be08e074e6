// npm run bench [-- --only a,c] [-- --list]
// Prints one JSON line per measurement on stdout (progress on stderr). Ratios are measured within the run:
// the MatMul peak (c) runs first and every GFLOP/s figure is divided by it. A bench marked `isolated`
// runs in a child process (`--child KEY --peak GFLOPS`) so that its rss_mb is its own peak alone.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BENCHES, selectBenches } from './benches.ts';
import type { Bench, BenchContext, BenchLine } from './registry.ts';
import { round } from './registry.ts';
import { peakRssMb } from './timing.ts';

function usage(): string {
  const rows = BENCHES.map((b) => `  ${b.key.padEnd(4)} ${b.name.padEnd(28)} ${b.description}`);
  return ['usage: npm run bench [-- --only KEY,KEY...] [-- --list]', 'benches (run in this order):', ...rows].join('\n');
}

interface Args {
  only?: string[];
  list: boolean;
  /** Child mode: run this one bench, with the parent's peak. */
  child?: string;
  peak?: number;
}

function parseArgs(argv: string[]): Args {
  let only: string[] | undefined;
  let list = false;
  let child: string | undefined;
  let peak: number | undefined;
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === '--list' || a === '--help' || a === '-h') list = true;
    else if (a === '--child') child = argv[++k];
    else if (a === '--peak') peak = Number(argv[++k]) || undefined;
    else if (a === '--only') only = (argv[++k] ?? '').split(',').filter(Boolean);
    else if (a.startsWith('--only=')) only = a.slice(7).split(',').filter(Boolean);
    else throw new Error(`unknown argument '${a}'\n${usage()}`);
  }
  return { only, list, child, peak };
}

function makeContext(givenPeak?: number, tag = 'bench'): BenchContext {
  const lines = new Map<string, BenchLine>();
  const shared = new Map<string, Promise<unknown>>();
  return {
    lines,
    peak() {
      if (givenPeak) return givenPeak;
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
      process.stderr.write(`[${tag}] ${message}\n`);
    },
  };
}

/** Runs `b` in a child process and takes over its lines. */
async function runIsolated(b: Bench, ctx: BenchContext): Promise<void> {
  const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
  const args = [runTs, fileURLToPath(import.meta.url), '--child', b.key, '--peak', String(ctx.peak() ?? 0)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const taken: BenchLine[] = [];
  for await (const text of createInterface({ input: child.stdout })) {
    if (!text.trim()) continue;
    const line = JSON.parse(text) as BenchLine;
    taken.push(ctx.emit({ ...line, isolated: true }));
  }
  const code: number = await new Promise((res) => (child.exitCode !== null ? res(child.exitCode) : child.on('close', (c) => res(c ?? 1))));
  const failed = taken.find((l) => 'error' in l);
  if (code !== 0 || failed) throw new Error(`isolated run of ${b.name} failed (exit ${code})${failed ? `: ${String(failed['error'])}` : ''}`);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    process.stderr.write(`${usage()}\n`);
    return 0;
  }
  const ctx = makeContext(args.peak, args.child ? 'bench child' : 'bench');
  const childBench = args.child ? BENCHES.find((b) => b.key === args.child) : undefined;
  if (args.child && !childBench) throw new Error(`--child: unknown bench '${args.child}'`);
  let failed = 0;
  for (const b of childBench ? [childBench] : selectBenches(args.only)) {
    const t0 = performance.now();
    ctx.log(`${b.key}: ${b.name} ...`);
    try {
      if (b.isolated && !childBench) await runIsolated(b, ctx);
      else await b.run(ctx);
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
