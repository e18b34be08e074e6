// The atlas end to end through the CLI: the same site in one process and through a BullMQ queue with two
// workers, byte for byte; a worker killed mid-shard and a Redis killed mid-run (append-only file) do not
// stop the run nor duplicate a unit; a finished folder renders nothing; bad input is one line, exit 2.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';

const tmp = mkdtempSync(join(tmpdir(), 'fviz-atlas-'));
let redis: TestRedis;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  done: Promise<number>;
  /** Resolves when stdout has a line matching `re`. */
  line: (re: RegExp) => Promise<string>;
}

function fviz(args: string[]): Run {
  const proc = spawn('node', ['bin/fviz.js', ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; ok: (l: string) => void }[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.split('\n').find((l) => w.re.test(l));
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.ok(m);
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((ok) => proc.on('exit', (code, signal) => ok(code ?? (signal ? 128 : -1))));
  return {
    proc,
    out: () => out,
    err: () => err,
    done,
    line: (re) => {
      const m = out.split('\n').find((l) => re.test(l));
      return m ? Promise.resolve(m) : new Promise((ok) => waiters.push({ re, ok }));
    },
  };
}

/** Every file under dir (relative path -> bytes), without the timings (they differ between runs). */
function tree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) {
        if (f !== 'timings') walk(p);
      } else files.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return files;
}

function expectSameTree(a: string, b: string): void {
  const ta = tree(a);
  const tb = tree(b);
  expect([...tb.keys()].sort()).toEqual([...ta.keys()].sort());
  const differ = [...ta].filter(([k, v]) => !v.equals(tb.get(k)!)).map(([k]) => k);
  expect(differ).toEqual([]);
}

/** Each planned unit in exactly one finished shard, one render file per unit, no temporary file left. */
function expectEachUnitOnce(dir: string): void {
  const plan = JSON.parse(readFileSync(join(dir, 'atlas.json'), 'utf8')) as { renders: number; shards: { key: string; units: number[] }[] };
  const seen = new Map<string, number>();
  for (const s of plan.shards) {
    const m = JSON.parse(readFileSync(join(dir, 'shards', `${s.key}.json`), 'utf8')) as { units: { unit: number; key: string }[] };
    expect(m.units.map((u) => u.unit)).toEqual(s.units);
    for (const u of m.units) seen.set(u.key, (seen.get(u.key) ?? 0) + 1);
  }
  expect(seen.size).toBe(plan.renders);
  expect([...seen.values()].every((n) => n === 1)).toBe(true);
  const files = [...tree(dir).keys()];
  expect(files.filter((f) => f.startsWith('renders/') && /[0-9a-f]{32}\.png$/.test(f))).toHaveLength(plan.renders);
  expect(files.filter((f) => /\.tmp-\d+$/.test(f))).toEqual([]);
}

// 8 units of one layer in 4 batches of 2: small enough to be quick, enough shards for two workers.
const ATLAS = ['atlas', '--layers', 'inception_3a/output', '--methods', 'fourier', '--units', '0-7', '--batch', '2', '--steps', '24'];

const inProcess = join(tmp, 'in-process');

describe('fviz atlas', () => {

  it('in one process and through a queue with two workers: byte-identical sites', async () => {
    const a = fviz([...ATLAS, '--out', inProcess]);
    expect(await a.done, a.err()).toBe(0);
    expect(a.out()).toMatch(/4 shard\(s\) rendered, 0 already finished/);
    expectEachUnitOnce(inProcess);
    expect(existsSync(join(inProcess, 'index.html'))).toBe(true);

    const queued = join(tmp, 'queued');
    const run = fviz([...ATLAS, '--out', queued, '--queue', redis.url, '--name', 'two']);
    await new Promise((r) => setTimeout(r, 1500));
    const w1 = fviz(['worker', '--queue', redis.url, '--name', 'two']);
    const w2 = fviz(['worker', '--queue', redis.url, '--name', 'two']);
    expect(await w1.done, w1.err()).toBe(0);
    expect(await w2.done, w2.err()).toBe(0);
    expect(await run.done, run.err()).toBe(0);
    const taken = [w1, w2].map((w) => Number(/(\d+) rendered/.exec(w.out())![1]));
    expect(taken[0]! + taken[1]!).toBe(4);
    expectSameTree(inProcess, queued);

    const status = fviz(['atlas', 'status', '--queue', redis.url, '--name', 'two', '--json']);
    expect(await status.done, status.err()).toBe(0);
    const s = JSON.parse(status.out());
    expect(s.units).toEqual({ done: 8, total: 8 });
    expect(s.unitsPerHour).toBeGreaterThan(0);
    expect(s.etaSeconds).toBe(0);
  }, 180_000);

  it('a second run on a finished folder renders nothing', async () => {
    const before = tree(inProcess);
    const again = fviz([...ATLAS, '--out', inProcess]);
    expect(await again.done, again.err()).toBe(0);
    expect(again.out()).toMatch(/0 shard\(s\) rendered, 4 already finished/);
    expectSameTree(inProcess, inProcess);
    const after = tree(inProcess);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
  }, 60_000);

  it('a worker killed (SIGKILL) mid-shard: another takes its shard over; every unit exactly once', async () => {
    const dir = join(tmp, 'killed');
    const run = fviz([...ATLAS, '--out', dir, '--queue', redis.url, '--name', 'kill']);
    await new Promise((r) => setTimeout(r, 1500));
    const doomed = fviz(['worker', '--queue', redis.url, '--name', 'kill', '--lock-duration', '2000']);
    const started = await doomed.line(/^start /);
    doomed.proc.kill('SIGKILL');
    await doomed.done;
    const shard = started.split(' ')[1]!;
    expect(existsSync(join(dir, 'shards', `${shard}.json`))).toBe(false); // killed before it finished
    const heir = fviz(['worker', '--queue', redis.url, '--name', 'kill', '--lock-duration', '2000']);
    expect(await heir.done, heir.err()).toBe(0);
    expect(heir.out()).toContain(`start ${shard}`);
    expect(await run.done, run.err()).toBe(0);
    expectEachUnitOnce(dir);
    expectSameTree(inProcess, dir);
  }, 180_000);

  it('Redis killed and restarted mid-run (append-only file): the run completes', async () => {
    const dir = join(tmp, 'restarted');
    const run = fviz([...ATLAS, '--out', dir, '--queue', redis.url, '--name', 'restart']);
    await new Promise((r) => setTimeout(r, 1500));
    const worker = fviz(['worker', '--queue', redis.url, '--name', 'restart', '--lock-duration', '4000']);
    await worker.line(/^done /);
    await redis.restart();
    expect(await worker.done, worker.err()).toBe(0);
    expect(await run.done, run.err()).toBe(0);
    expectEachUnitOnce(dir);
    expectSameTree(inProcess, dir);
  }, 180_000);
});

describe('fviz atlas: bad input is one line, exit code 2', () => {
  const oneLine = async (args: string[], re: RegExp) => {
    const r = fviz(args);
    expect(await r.done).toBe(2);
    const err = r.err().trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toMatch(re);
  };

  it('an unknown layer names the nearest ones', async () => {
    await oneLine(['atlas', '--layers', 'inception_3a/outptu', '--out', join(tmp, 'typo')], /^fviz: unknown layer 'inception_3a\/outptu'; nearest names: inception_3a\/output/);
    expect(existsSync(join(tmp, 'typo'))).toBe(false);
  }, 60_000);

  it('an unreachable Redis', async () => {
    const port = await freePort();
    await oneLine([...ATLAS, '--out', join(tmp, 'noredis'), '--queue', `redis://127.0.0.1:${port}`], new RegExp(`^fviz: cannot reach Redis at redis://127.0.0.1:${port}: .*start redis-server`));
    await oneLine(['worker', '--queue', `redis://127.0.0.1:${port}`], /^fviz: cannot reach Redis at /);
  }, 60_000);

  it('a worker whose model file differs from the atlas\'s (sha256)', async () => {
    await oneLine(['worker', '--queue', redis.url, '--name', 'two', '--model', 'embedded-judge'], /^fviz: model file .*judge\.onnx has sha256 [0-9a-f]{12}, the atlas needs classifier\.onnx with sha256 [0-9a-f]{12}: give --model the same file$/);
  }, 60_000);

  it('an output folder made by another model', async () => {
    await oneLine(['atlas', '--model', 'embedded-judge', '--layers', 'all', '--out', inProcess], /^fviz: output folder .* holds an atlas of another model \(classifier\.onnx, sha256 [0-9a-f]{12}\); this model has sha256 [0-9a-f]{12}: choose another --out$/);
  }, 60_000);
});
