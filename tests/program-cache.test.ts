// The compiled-program cache: a DGN-AM run stores its fused program, the next run loads it and gives the same
// numbers; a corrupt or truncated entry is removed, rebuilt and reported in one stderr line; a folder that cannot
// be written turns the cache off with one warning; the folder stays within its bound by LRU eviction.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { visualizeDgn } from '../src/optvis/render/visualize.ts';
import {
  clearPrograms,
  evict,
  listPrograms,
  modelDigest,
  openProgram,
  programKey,
  resetProgramCacheWarnings,
  storeProgram,
} from '../src/runtime/program-cache.ts';

const repo = join(import.meta.dirname, '..');
let stderr: string[] = [];
const saved = { cache: process.env['FVIZ_CACHE'], max: process.env['FVIZ_CACHE_MAX_MB'] };
const restore = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));

beforeEach(() => {
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  resetProgramCacheWarnings();
});
afterEach(() => {
  vi.restoreAllMocks();
  restore('FVIZ_CACHE', saved.cache);
  restore('FVIZ_CACHE_MAX_MB', saved.max);
});

const fresh = (name: string) => mkdtempSync(join(tmpdir(), `fviz-cache-${name}-`));
const entries = (dir: string) => readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
/** An entry holding one file of these bytes. */
const store = (key: string, bytes: Uint8Array, label: string, dir: string) =>
  storeProgram(key, async (tmp) => writeFileSync(join(tmp, 'payload.bin'), bytes), { label }, dir);
const payloadOf = (key: string, dir: string) => {
  const e = openProgram(key, dir);
  return e ? readFileSync(join(e.dir, 'payload.bin')) : undefined;
};

async function run(out: string) {
  return visualizeDgn({ generator: 'embedded', objective: 'class:cat', out, steps: 2, seed: 1, frames: [] });
}

describe('program cache with DGN-AM on the embedded models', () => {
  it('stores the fused program, loads it next time with the same numbers, and survives corruption and truncation', async () => {
    const dir = fresh('dgn');
    process.env['FVIZ_CACHE'] = dir;
    const cold = await run(join(dir, 'out-cold'));
    expect(entries(dir)).toHaveLength(1);
    const key = entries(dir)[0]!;
    const data = join(dir, key, 'program.onnx.data');
    expect(statSync(data).size, 'the weights are stored apart from the graph').toBeGreaterThan(statSync(join(dir, key, 'program.onnx')).size);

    const warm = await run(join(dir, 'out-warm'));
    expect(warm.history).toEqual(cold.history);
    expect(warm.final).toEqual(cold.final);
    expect(readFileSync(join(dir, 'out-warm', 'result.png')).equals(readFileSync(join(dir, 'out-cold', 'result.png'))), 'the same image bytes').toBe(true);
    expect(stderr.join('')).not.toMatch(/corrupt|not writable/);

    // A flipped byte in the weights: found by the worker's checksum, removed, rebuilt, same numbers.
    const bytes = readFileSync(data);
    bytes[bytes.length - 1000] ^= 0xff;
    writeFileSync(data, bytes);
    const afterFlip = await run(join(dir, 'out-flip'));
    expect(afterFlip.history).toEqual(cold.history);
    expect(stderr.join('')).toMatch(/cached program [0-9a-f]{12} was corrupt \(program\.onnx\.data checksum mismatch\); removed it and rebuilding/);
    expect(stderr.join('').match(/corrupt/g)).toHaveLength(1);
    const rebuilt = openProgram(key, dir);
    expect(await rebuilt?.verified, 'the rebuilt entry is whole again').toBeUndefined();

    // Truncated (a process killed mid-copy by hand, a full disk): the same.
    stderr = [];
    truncateSync(data, Math.floor(statSync(data).size / 2));
    const afterCut = await run(join(dir, 'out-cut'));
    expect(afterCut.history).toEqual(cold.history);
    expect(stderr.join('')).toMatch(/was corrupt \(program\.onnx\.data truncated \(\d+ of \d+ bytes\)\)/);
    expect(stderr.join('').match(/corrupt/g)).toHaveLength(1);
    expect(await openProgram(key, dir)?.verified).toBeUndefined();

    // A damaged graph file (checked on the main thread before onnxruntime reads it).
    stderr = [];
    const graph = join(dir, key, 'program.onnx');
    const g = readFileSync(graph);
    g[100] ^= 0xff;
    writeFileSync(graph, g);
    const afterGraph = await run(join(dir, 'out-graph'));
    expect(afterGraph.history).toEqual(cold.history);
    expect(stderr.join('')).toMatch(/was corrupt \(program\.onnx checksum mismatch\)/);
    expect(readdirSync(dir).filter((n) => /\.(tmp|gone)$/.test(n)), 'no temporary folder left behind').toEqual([]);
  });

  it('a folder that cannot be written degrades to no cache with one warning', async () => {
    const base = fresh('ro');
    let dir: string;
    if (process.getuid?.() === 0) {
      // root writes through permission bits: a path under a plain file can be created by no one.
      writeFileSync(join(base, 'file'), 'x');
      dir = join(base, 'file', 'programs');
    } else {
      dir = join(base, 'programs');
      mkdirSync(dir);
      chmodSync(dir, 0o555);
    }
    process.env['FVIZ_CACHE'] = dir;
    const a = await run(join(base, 'a'));
    const b = await run(join(base, 'b'));
    expect(b.history).toEqual(a.history);
    const warnings = stderr.join('').match(/program cache .* is not writable \((EACCES|ENOTDIR|EROFS|EPERM)\); running without a cache/g);
    expect(warnings).toHaveLength(1);
    expect(existsSync(dir) ? entries(dir) : []).toEqual([]);
  });
});

describe('program cache files', () => {
  it('evicts the least recently used entries beyond the bound, never the one just written', async () => {
    const dir = fresh('lru');
    const payload = (k: number) => new Uint8Array(4000).fill(k);
    const keys = [1, 2, 3].map((k) => programKey({ k }));
    for (const [i, k] of keys.entries()) {
      await store(k, payload(i), `p${i}`, dir);
      const t = new Date(Date.now() - (10 - i) * 60_000);
      utimesSync(join(dir, k, 'entry.json'), t, t);
    }
    // Using the oldest makes it the most recent.
    expect(payloadOf(keys[0]!, dir)?.[0]).toBe(0);
    process.env['FVIZ_CACHE_MAX_MB'] = String(10_000 / 1024 / 1024);
    const fourth = programKey({ k: 4 });
    await store(fourth, payload(4), 'p4', dir);
    const left = listPrograms(dir).map((e) => e.key);
    expect(left).toContain(fourth);
    expect(left).toContain(keys[0]);
    expect(left).not.toContain(keys[1]);
    expect(left.length).toBe(2);
    expect(evict(dir, 0, fourth)).toBe(1);
    expect(listPrograms(dir).map((e) => e.key)).toEqual([fourth]);
  });

  it('keys change with any part and with nothing else; digests match sha256 and follow a changed file', async () => {
    expect(programKey({ a: 1, b: [2, 3] })).toBe(programKey({ b: [2, 3], a: 1 }));
    expect(programKey({ a: 1 })).not.toBe(programKey({ a: 2 }));
    const dir = fresh('digest');
    const f = join(dir, 'm.onnx');
    writeFileSync(f, 'one');
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    expect(await modelDigest(f, dir)).toBe(sha('one'));
    expect(await modelDigest(f, dir), 'remembered').toBe(sha('one'));
    expect(readdirSync(join(dir, 'digests'))).toHaveLength(1);
    writeFileSync(f, 'two!');
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    expect(await modelDigest(f, dir), 'a changed file is hashed anew').toBe(sha('two!'));
    expect(readdirSync(join(dir, 'digests'))).toHaveLength(2);
  });

  it('two processes filling the same entry at once leave one whole entry', async () => {
    const dir = fresh('race');
    const race = programKey({ race: 1 });
    const script = join(dir, 'fill.mts'); // .mts: ESM outside any package.json
    writeFileSync(
      script,
      `import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storeProgram } from ${JSON.stringify(join(repo, 'src', 'runtime', 'program-cache.ts'))};
const bytes = new Uint8Array(32 << 20).map((_, i) => (i * 7 + Number(process.argv[2])) & 255);
for (let k = 0; k < 3; k++) await storeProgram(${JSON.stringify(race)}, async (tmp) => writeFileSync(join(tmp, 'payload.bin'), bytes), { label: 'writer ' + process.argv[2] }, ${JSON.stringify(dir)});
`,
    );
    const fill = (id: number) =>
      new Promise<number | null>((res) => spawn(process.execPath, [join(repo, 'bin', 'run-ts.js'), script, String(id)], { stdio: 'ignore' }).on('exit', res));
    expect(await Promise.all([fill(1), fill(2)])).toEqual([0, 0]);
    const got = openProgram(race, dir);
    expect(await got?.verified, 'the entry passes its checksum').toBeUndefined();
    const bytes = payloadOf(race, dir)!;
    expect(bytes.length).toBe(32 << 20);
    expect([1, 2]).toContain(bytes[0]);
    expect(readdirSync(dir).filter((n) => /\.(tmp|gone)$/.test(n))).toEqual([]);
    expect(stderr.join('')).not.toMatch(/corrupt/);
  });

  it('fviz cache ls and clear', async () => {
    const dir = fresh('cli');
    await store(programKey({ cli: 1 }), new Uint8Array(10), 'a test entry', dir);
    const env = { ...process.env, FVIZ_CACHE: dir };
    const ls = spawnSync(process.execPath, [join(repo, 'bin/fviz.js'), 'cache', 'ls'], { encoding: 'utf8', env });
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/1 program\(s\)/);
    expect(ls.stdout).toMatch(/a test entry/);
    const clear = spawnSync(process.execPath, [join(repo, 'bin/fviz.js'), 'cache', 'clear'], { encoding: 'utf8', env });
    expect(clear.status, clear.stderr).toBe(0);
    expect(clear.stdout).toMatch(/removed 1 program/);
    expect(entries(dir)).toEqual([]);
    expect(clearPrograms(dir).entries).toBe(0);
  });
});
