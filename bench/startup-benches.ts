// Start-up: `fviz --help` of the compiled package against `node -e 0`, and the time to the first DGN-AM step on
// the twins with a cold program cache against a warm one. Each run is a fresh process, as a user's would be.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { twinPath } from '../src/twins/index.ts';
import { round, type Bench } from './registry.ts';
import { TWIN_SEED } from './twins.ts';

const repo = join(import.meta.dirname, '..');
const distMain = join(repo, 'dist', 'cli', 'main.js');

function ensureDist(log: (m: string) => void): void {
  if (existsSync(distMain)) return;
  log('building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'ignore' });
}

function wallMs(args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: repo, env, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const helpBench: Bench = {
  key: 'help',
  name: 'startup_help',
  description: '`fviz --help` wall time (compiled dist/ and the tsx sources) against `node -e 0`, median of paired rounds',
  async run(ctx) {
    ensureDist((m) => ctx.log(m));
    const rounds = 7;
    const node: number[] = [];
    const dist: number[] = [];
    const tsx: number[] = [];
    wallMs([distMain, '--help']); // page cache
    for (let k = 0; k < rounds; k++) {
      node.push(wallMs(['-e', '0']));
      dist.push(wallMs([distMain, '--help']));
      if (k < 3) tsx.push(wallMs([join(repo, 'bin', 'fviz.js'), '--help']));
    }
    const n = median(node);
    const d = median(dist);
    ctx.emit({
      bench: this.name,
      node_e0_ms: round(n, 1),
      dist_help_ms: round(d, 1),
      ratio_dist_vs_node: round(d / n, 2),
      tsx_help_ms: round(median(tsx), 1),
      ratio_tsx_vs_node: round(median(tsx) / n, 2),
      rounds,
    });
  },
};

/** Time to the first DGN-AM step in a fresh process: program built (cold) or loaded (warm), plus one step. */
function firstStep(cacheDir: string, out: string): { wallMs: number; compileMs: number; firstStepMs: number } {
  const args = [distMain, 'visualize', '--model', 'twin:googlenet', '--generator', 'twin:fc6-generator', '--method', 'dgn', '--steps', '1', '--frames', '0', '--objective', 'class:3', '--out', out];
  const wall = wallMs(args, { ...process.env, FVIZ_CACHE: cacheDir });
  const t = (JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { timings: { compileMs: number; msPerStep: number; firstStepMs?: number } }).timings;
  return { wallMs: wall, compileMs: t.compileMs, firstStepMs: t.firstStepMs ?? t.compileMs + t.msPerStep };
}

export const dgnCacheBench: Bench = {
  key: 'dgncache',
  name: 'startup_dgn_first_step',
  description: 'time to the first DGN-AM step on twin:googlenet + twin:fc6-generator, cold program cache vs warm, fresh processes',
  async run(ctx) {
    ensureDist((m) => ctx.log(m));
    // The twins are built once beforehand (their own cache), so neither side pays for making them.
    twinPath('googlenet', { seed: TWIN_SEED });
    twinPath('fc6-generator', { seed: TWIN_SEED });
    const rounds = 2;
    const cold: ReturnType<typeof firstStep>[] = [];
    const warm: ReturnType<typeof firstStep>[] = [];
    for (let k = 0; k < rounds; k++) {
      const dir = mkdtempSync(join(tmpdir(), 'fviz-bench-cache-'));
      try {
        ctx.log(`dgn first step, round ${k + 1}/${rounds}: cold`);
        cold.push(firstStep(dir, join(dir, 'cold')));
        ctx.log(`dgn first step, round ${k + 1}/${rounds}: warm`);
        warm.push(firstStep(dir, join(dir, 'warm')));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const m = (xs: ReturnType<typeof firstStep>[], f: 'wallMs' | 'compileMs' | 'firstStepMs') => median(xs.map((x) => x[f]));
    ctx.emit({
      bench: this.name,
      cold_first_step_ms: round(m(cold, 'firstStepMs'), 0),
      warm_first_step_ms: round(m(warm, 'firstStepMs'), 0),
      ratio_warm_vs_cold: round(m(warm, 'firstStepMs') / m(cold, 'firstStepMs'), 3),
      cold_process_ms: round(m(cold, 'wallMs'), 0),
      warm_process_ms: round(m(warm, 'wallMs'), 0),
      ratio_process_warm_vs_cold: round(m(warm, 'wallMs') / m(cold, 'wallMs'), 3),
      cold_compile_ms: round(m(cold, 'compileMs'), 0),
      warm_compile_ms: round(m(warm, 'compileMs'), 0),
      rounds,
    });
  },
};

/** `fviz demo` in a fresh process with the given program cache; its wall time and the metrics it wrote. */
function demoRun(cacheDir: string, out: string): { wallMs: number; metrics: string } {
  const wall = wallMs([distMain, 'demo', '--out', out], { ...process.env, FVIZ_CACHE: cacheDir });
  const metrics = join(out, 'metrics.json');
  return { wallMs: wall, metrics: existsSync(metrics) ? readFileSync(metrics, 'utf8') : '' };
}

export const demoCacheBench: Bench = {
  key: 'democache',
  name: 'startup_demo',
  description: '`fviz demo` (embedded models) end to end, empty program cache vs the cache it filled, fresh processes',
  optIn: true, // minutes on a 2-core machine
  async run(ctx) {
    ensureDist((m) => ctx.log(m));
    const dir = mkdtempSync(join(tmpdir(), 'fviz-bench-demo-'));
    try {
      ctx.log('demo, cold program cache');
      const cold = demoRun(join(dir, 'cache'), join(dir, 'cold'));
      ctx.log('demo, warm program cache');
      const warm = demoRun(join(dir, 'cache'), join(dir, 'warm'));
      ctx.emit({
        bench: this.name,
        cold_ms: round(cold.wallMs, 0),
        warm_ms: round(warm.wallMs, 0),
        ratio_warm_vs_cold: round(warm.wallMs / cold.wallMs, 3),
        metrics_identical: cold.metrics !== '' && cold.metrics === warm.metrics,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
