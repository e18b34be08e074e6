// Compiled gradient programs on disk, so a second run skips model preparation, gradient compilation and
// onnxruntime's graph optimization. One folder per program, named by its key:
//   program.onnx       onnxruntime's optimized graph (small: the weights are external)
//   program.onnx.data  the weights, which onnxruntime maps from the file instead of copying
//   entry.json         the caller's metadata, and each file's size and sha256
// A folder is filled under a temporary name and renamed, so two processes filling the same entry leave one whole
// entry. A hit checks sizes and the small files at once and the weights' checksum on a worker thread while the
// session is created; an entry that fails is removed and rebuilt with one line on stderr. Least recently used
// entries (by entry.json's mtime, touched on every hit) go when the folder outgrows its bound.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VERSION } from '../util/run-record.ts';

const ENTRY = 'entry.json';
/** Bumped when the entry layout or the meaning of a key changes. */
const FORMAT = 2;
/** Files up to this size are checked on the main thread before use; larger ones on a worker. */
const CHECK_INLINE_BYTES = 4 << 20;

export interface CacheEntryInfo {
  key: string;
  bytes: number;
  lastUsed: Date;
  label: string;
}

interface EntryFile {
  name: string;
  bytes: number;
  sha256: string;
}

interface EntryJson {
  format: number;
  meta: Record<string, unknown>;
  files: EntryFile[];
}

/** A cache hit: the entry's folder and metadata; `verified` settles with undefined, or why the entry is corrupt. */
export interface OpenedEntry {
  dir: string;
  meta: Record<string, unknown>;
  verified: Promise<string | undefined>;
}

/** $FVIZ_CACHE, else $XDG_CACHE_HOME/fviz/programs, else ~/.cache/fviz/programs. */
export function programCacheDir(): string {
  const env = process.env['FVIZ_CACHE'];
  if (env) return resolve(env);
  const xdg = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(xdg, 'fviz', 'programs');
}

/** The size bound: $FVIZ_CACHE_MAX_MB (default 4096 MB). */
export function programCacheLimit(): number {
  const mb = Number(process.env['FVIZ_CACHE_MAX_MB'] ?? '4096');
  return (Number.isFinite(mb) && mb >= 0 ? mb : 4096) * 1024 * 1024;
}

/** Whether the cache is switched off ($FVIZ_CACHE=off), or turned off for this process (a read-only folder). */
export function programCacheEnabled(): boolean {
  return process.env['FVIZ_CACHE'] !== 'off' && !warnedReadOnly;
}

function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort()
        .map((k) => [k, stable(o[k])]),
    );
  }
  return v;
}

const fvizRoot = dirname(dirname(fileURLToPath(import.meta.url)));
let stamps: Record<string, string> | undefined;

function walk(d: string, each: (path: string) => void): void {
  let names: string[];
  try {
    names = readdirSync(d).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const p = join(d, n);
    if (statSync(p).isDirectory()) walk(p, each);
    else if (/\.(ts|js)$/.test(n)) each(p);
  }
}

/**
 * What a stored program depends on besides its own inputs: fviz's code (size and mtime of every file of its tree,
 * src/ in a checkout, dist/ in the package; the autodiff rules and rewrites by content as well), the onnxruntime
 * version (its optimized graph is its own format) and the CPU (the optimized graph holds layout choices made for it).
 */
function environmentStamps(): Record<string, string> {
  if (stamps) return stamps;
  const code = createHash('sha256');
  walk(fvizRoot, (p) => {
    const st = statSync(p);
    code.update(`${relative(fvizRoot, p)}|${st.size}|${st.mtimeMs}\n`);
  });
  const rules = createHash('sha256');
  walk(join(fvizRoot, 'autodiff'), (p) => rules.update(relative(fvizRoot, p)).update(readFileSync(p)));
  let ort = 'unknown';
  try {
    ort = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    /* resolved the same way by the session, which then fails with its own message */
  }
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '';
  } catch {
    /* not Linux: the model name stands alone */
  }
  const cpu = `${arch()}|${cpus()[0]?.model ?? ''}|${createHash('sha256').update(flags).digest('hex').slice(0, 16)}`;
  stamps = { code: code.digest('hex'), rules: rules.digest('hex'), onnxruntime: ort, cpu };
  return stamps;
}

/** The key of a program: sha256 of its parts (model hashes, objective, options), fviz's version, code and environment. */
export function programKey(parts: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify(stable({ fviz: VERSION, format: FORMAT, env: environmentStamps(), ...parts })))
    .digest('hex');
}

function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  return new Promise((res, rej) => {
    createReadStream(path, { highWaterMark: 1 << 22 })
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}

/**
 * sha256 of a model file, remembered in the cache folder by (path, size, mtime, inode) so a warm start does not
 * hash hundreds of megabytes again; a file changed in place gets a new mtime and is hashed anew.
 */
export async function modelDigest(path: string, dir = programCacheDir()): Promise<string> {
  const abs = resolve(path);
  let id: string;
  try {
    const st = statSync(abs);
    id = createHash('sha256').update(`${abs}|${st.size}|${st.mtimeMs}|${st.ino}`).digest('hex');
  } catch {
    return sha256File(abs); // fails with the file system's message
  }
  const memo = join(dir, 'digests', id);
  if (programCacheEnabled()) {
    try {
      const hex = readFileSync(memo, 'utf8');
      if (/^[0-9a-f]{64}$/.test(hex)) return hex;
    } catch {
      /* not remembered yet */
    }
  }
  const hex = await sha256File(abs);
  if (programCacheEnabled()) {
    const tmp = `${memo}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    try {
      mkdirSync(join(dir, 'digests'), { recursive: true });
      writeFileSync(tmp, hex);
      renameSync(tmp, memo);
    } catch {
      try {
        rmSync(tmp, { force: true });
      } catch {
        /* nothing was written */
      }
    }
  }
  return hex;
}

let warnedReadOnly = false;

function say(line: string): void {
  process.stderr.write(`fviz: ${line}\n`);
}

/** The worker that hashes large files: plain JavaScript, so it runs the same from the sources and from dist/. */
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const out = [];
const buf = Buffer.allocUnsafe(1 << 22);
for (const path of workerData) {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  out.push(h.digest('hex'));
}
parentPort.postMessage(out);
`;

/** sha256 of each file, computed on a worker thread. */
function sha256OffThread(paths: string[]): Promise<string[]> {
  return new Promise((res, rej) => {
    const w = new Worker(HASH_WORKER, { eval: true, workerData: paths });
    w.once('message', (m: string[]) => {
      res(m);
      void w.terminate();
    });
    w.once('error', rej);
  });
}

function readEntryJson(entryDir: string): EntryJson | string {
  let text: string;
  try {
    text = readFileSync(join(entryDir, ENTRY), 'utf8');
  } catch {
    return 'entry.json missing';
  }
  try {
    const e = JSON.parse(text) as EntryJson;
    if (e.format !== FORMAT || !Array.isArray(e.files) || typeof e.meta !== 'object') return 'entry.json of another layout';
    return e;
  } catch {
    return 'entry.json unreadable';
  }
}

/** Removes an entry with one line on stderr (a read-only folder keeps it; it is rebuilt in memory every time). */
export function discardProgram(key: string, why: string, dir = programCacheDir()): void {
  const gone = join(dir, `${key}.${process.pid}-${randomBytes(4).toString('hex')}.gone`);
  try {
    renameSync(join(dir, key), gone); // atomic: another process never sees half a removal
    rmSync(gone, { recursive: true, force: true });
  } catch {
    /* read-only or removed meanwhile */
  }
  say(`cached program ${key.slice(0, 12)} was corrupt (${why}); removed it and rebuilding`);
}

/**
 * The entry for a key, or undefined when there is none. Sizes and small files are checked here; the large files'
 * checksum on a worker (`verified`). A corrupt entry found here is removed (one stderr line) and undefined returned.
 */
export function openProgram(key: string, dir = programCacheDir()): OpenedEntry | undefined {
  if (!programCacheEnabled()) return undefined;
  const entryDir = join(dir, key);
  try {
    statSync(entryDir);
  } catch {
    return undefined;
  }
  const e = readEntryJson(entryDir);
  const fail = (why: string) => {
    discardProgram(key, why, dir);
    return undefined;
  };
  if (typeof e === 'string') return fail(e);
  const large: EntryFile[] = [];
  for (const f of e.files) {
    const path = join(entryDir, f.name);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return fail(`${f.name} missing`);
    }
    if (size !== f.bytes) return fail(`${f.name} truncated (${size} of ${f.bytes} bytes)`);
    if (size > CHECK_INLINE_BYTES) large.push(f);
    else if (createHash('sha256').update(readFileSync(path)).digest('hex') !== f.sha256) return fail(`${f.name} checksum mismatch`);
  }
  const verified = large.length
    ? sha256OffThread(large.map((f) => join(entryDir, f.name))).then(
        (got) => {
          const bad = large.find((f, k) => got[k] !== f.sha256);
          return bad ? `${bad.name} checksum mismatch` : undefined;
        },
        (err: unknown) => `unreadable (${err instanceof Error ? err.message : String(err)})`,
      )
    : Promise.resolve(undefined);
  try {
    const now = new Date();
    utimesSync(join(entryDir, ENTRY), now, now);
  } catch {
    /* read-only: LRU order is not updated */
  }
  return { dir: entryDir, meta: e.meta, verified };
}

/**
 * Stores a program: `fill` writes its files into a fresh folder, which gets its entry.json and is renamed to the
 * key (when another process got there first, its entry stays). Returns the entry's folder, or undefined when the
 * cache is off. A folder that cannot be written turns the cache off for the process with one warning.
 */
export async function storeProgram(key: string, fill: (tmpDir: string) => Promise<void>, meta: Record<string, unknown>, dir = programCacheDir()): Promise<string | undefined> {
  if (!programCacheEnabled()) return undefined;
  const tmp = join(dir, `${key}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(tmp, { recursive: true });
  } catch (e) {
    readOnly(dir, e);
    return undefined;
  }
  try {
    await fill(tmp);
    const files: EntryFile[] = [];
    for (const name of readdirSync(tmp).sort()) {
      const path = join(tmp, name);
      files.push({ name, bytes: statSync(path).size, sha256: await sha256File(path) });
    }
    const entry: EntryJson = { format: FORMAT, meta, files };
    writeFileSync(join(tmp, ENTRY), JSON.stringify(entry));
    try {
      renameSync(tmp, join(dir, key));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
      rmSync(tmp, { recursive: true, force: true }); // filled by another process meanwhile: theirs is as good
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM' || code === 'ENOSPC' || code === 'EDQUOT') {
      readOnly(dir, e);
      return undefined;
    }
    throw e;
  }
  evict(dir, programCacheLimit(), key);
  return join(dir, key);
}

function readOnly(dir: string, e: unknown): void {
  const code = (e as NodeJS.ErrnoException).code ?? String(e);
  warnedReadOnly = true;
  say(`program cache ${dir} is not writable (${code}); running without a cache (set FVIZ_CACHE to a writable folder)`);
}

interface Scanned {
  key: string;
  bytes: number;
  used: number;
  label: string;
}

function scan(dir: string): Scanned[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Scanned[] = [];
  for (const n of names) {
    if (!/^[0-9a-f]{64}$/.test(n)) continue; // entries are named by their key; other folders (digests, spectra) are not entries
    const entryDir = join(dir, n);
    try {
      if (!statSync(entryDir).isDirectory()) continue;
      const files = readdirSync(entryDir);
      const bytes = files.reduce((s, f) => s + statSync(join(entryDir, f)).size, 0);
      let used = statSync(entryDir).mtimeMs;
      let label = '(no entry.json)';
      const e = readEntryJson(entryDir);
      if (typeof e !== 'string') {
        used = statSync(join(entryDir, ENTRY)).mtimeMs;
        label = String(e.meta['label'] ?? '');
      } else label = `(${e})`;
      out.push({ key: n, bytes, used, label });
    } catch {
      /* removed meanwhile */
    }
  }
  return out;
}

/** Entries, most recently used first. */
export function listPrograms(dir = programCacheDir()): CacheEntryInfo[] {
  return scan(dir)
    .sort((a, b) => b.used - a.used)
    .map((s) => ({ key: s.key, bytes: s.bytes, lastUsed: new Date(s.used), label: s.label }));
}

/** Removes every entry (and stray temporary folders, and the first layout's .fvp files); how many entries and bytes went. */
export function clearPrograms(dir = programCacheDir()): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  for (const s of scan(dir)) {
    rmSync(join(dir, s.key), { recursive: true, force: true });
    entries++;
    bytes += s.bytes;
  }
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    /* no folder */
  }
  for (const n of names) if (/\.(tmp|gone|fvp)$/.test(n)) rmSync(join(dir, n), { recursive: true, force: true });
  rmSync(join(dir, 'digests'), { recursive: true, force: true });
  return { entries, bytes };
}

/** Removes least recently used entries until the folder holds at most `limit` bytes (never `keep`). */
export function evict(dir: string, limit: number, keep?: string): number {
  const entries = scan(dir).sort((a, b) => a.used - b.used);
  let total = entries.reduce((s, e) => s + e.bytes, 0);
  let removed = 0;
  for (const e of entries) {
    if (total <= limit) break;
    if (keep && e.key === keep) continue;
    try {
      rmSync(join(dir, e.key), { recursive: true, force: true });
      total -= e.bytes;
      removed++;
    } catch {
      /* read-only or gone */
    }
  }
  return removed;
}

/** Test hook: forget the one-time read-only warning. */
export function resetProgramCacheWarnings(): void {
  warnedReadOnly = false;
}
