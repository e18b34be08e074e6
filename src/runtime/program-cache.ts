// Compiled gradient programs on disk, so a second run skips model preparation and gradient compilation.
// One file per program: "FVP1", a uint32 header length, a JSON header (the caller's metadata, the payload's
// length and sha256), the payload (the compiled ONNX bytes). Written to a temporary name and renamed, so two
// processes filling the same entry leave one whole file; a file that fails its checksum is removed and rebuilt.
// Least recently used entries (by mtime, touched on every hit) go when the folder outgrows its bound.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../util/run-record.ts';

const MAGIC = 'FVP1';
const EXT = '.fvp';
/** Bumped when the entry layout or the meaning of a key changes. */
const FORMAT = 1;

export interface CachedProgram {
  bytes: Uint8Array;
  meta: Record<string, unknown>;
}

export interface CacheEntryInfo {
  key: string;
  bytes: number;
  lastUsed: Date;
  label: string;
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

/** Whether the cache is switched off ($FVIZ_CACHE=off). */
export function programCacheEnabled(): boolean {
  return process.env['FVIZ_CACHE'] !== 'off';
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

let stamp: string | undefined;

/**
 * The code that compiles programs: size and mtime of every file of fviz's own tree (src/ in a checkout, dist/
 * in the package), so an edited compiler never meets programs it did not make, even at the same version.
 */
function codeStamp(): string {
  if (stamp) return stamp;
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const h = createHash('sha256');
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (/\.(ts|js)$/.test(n)) h.update(`${relative(root, p)}|${st.size}|${st.mtimeMs}\n`);
    }
  };
  walk(root);
  stamp = h.digest('hex');
  return stamp;
}

/** The key of a program: sha256 of its parts (model hashes, objective, options), fviz's version and code. */
export function programKey(parts: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify(stable({ fviz: VERSION, code: codeStamp(), format: FORMAT, ...parts })))
    .digest('hex');
}

function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  return new Promise((res, rej) => {
    createReadStream(path)
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
  if (programCacheEnabled() && !warnedReadOnly) {
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

function entryPath(dir: string, key: string): string {
  return join(dir, key + EXT);
}

function parseEntry(buf: Buffer): CachedProgram | string {
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== MAGIC) return 'bad header';
  const hlen = buf.readUInt32LE(4);
  if (8 + hlen > buf.length) return 'truncated header';
  let header: { length: number; sha256: string; meta: Record<string, unknown> };
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + hlen)) as typeof header;
  } catch {
    return 'unreadable header';
  }
  const payload = buf.subarray(8 + hlen);
  if (payload.length !== header.length) return `truncated (${payload.length} of ${header.length} bytes)`;
  if (createHash('sha256').update(payload).digest('hex') !== header.sha256) return 'checksum mismatch';
  return { bytes: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength), meta: header.meta };
}

/** The cached program for a key, or undefined; a corrupt entry is removed with one line on stderr. */
export function readProgram(key: string, dir = programCacheDir()): CachedProgram | undefined {
  if (!programCacheEnabled()) return undefined;
  const path = entryPath(dir, key);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return undefined;
  }
  const got = parseEntry(buf);
  if (typeof got === 'string') {
    try {
      rmSync(path, { force: true });
    } catch {
      /* a read-only folder: the entry stays, and is rebuilt in memory every time */
    }
    say(`cached program ${key.slice(0, 12)} was corrupt (${got}); removed it and rebuilding`);
    return undefined;
  }
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch {
    /* read-only: LRU order is not updated */
  }
  return got;
}

/**
 * Stores a program (temp file + rename). A folder that cannot be written turns the cache off for the process
 * with one warning; the run goes on without it.
 */
export function writeProgram(key: string, bytes: Uint8Array, meta: Record<string, unknown>, dir = programCacheDir()): boolean {
  if (!programCacheEnabled() || warnedReadOnly) return false;
  const header = Buffer.from(JSON.stringify({ length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), meta }), 'utf8');
  const head = Buffer.alloc(8);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, 4);
  const path = entryPath(dir, key);
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, Buffer.concat([head, header, bytes]));
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was written */
    }
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    warnedReadOnly = true;
    say(`program cache ${dir} is not writable (${code}); running without a cache (set FVIZ_CACHE to a writable folder)`);
    return false;
  }
  evict(dir, programCacheLimit(), key);
  return true;
}

/** The label in an entry's header (read without the payload); the payload is checked when it is used. */
function headerLabel(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) < 8 || head.toString('latin1', 0, 4) !== MAGIC) return '(corrupt header)';
    const hlen = head.readUInt32LE(4);
    const buf = Buffer.alloc(Math.min(hlen, 1 << 20));
    readSync(fd, buf, 0, buf.length, 8);
    const meta = (JSON.parse(buf.toString('utf8')) as { meta?: { label?: unknown } }).meta;
    return String(meta?.label ?? '');
  } catch {
    return '(corrupt header)';
  } finally {
    closeSync(fd);
  }
}

/** Entries, most recently used first. */
export function listPrograms(dir = programCacheDir()): CacheEntryInfo[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: CacheEntryInfo[] = [];
  for (const n of names) {
    if (!n.endsWith(EXT)) continue;
    const path = join(dir, n);
    try {
      const st = statSync(path);
      out.push({ key: n.slice(0, -EXT.length), bytes: st.size, lastUsed: st.mtime, label: headerLabel(path) });
    } catch {
      /* removed meanwhile */
    }
  }
  return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
}

/** Removes every entry (and stray temporary files); returns how many entries and bytes went. */
export function clearPrograms(dir = programCacheDir()): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return { entries, bytes };
  }
  for (const n of names) {
    if (!n.endsWith(EXT) && !n.endsWith('.tmp')) continue;
    const path = join(dir, n);
    try {
      const size = statSync(path).size;
      rmSync(path, { force: true });
      if (n.endsWith(EXT)) {
        entries++;
        bytes += size;
      }
    } catch {
      /* gone already */
    }
  }
  rmSync(join(dir, 'digests'), { recursive: true, force: true });
  return { entries, bytes };
}

/** Removes least recently used entries until the folder holds at most `limit` bytes (never `keep`). */
export function evict(dir: string, limit: number, keep?: string): number {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(EXT));
  } catch {
    return 0;
  }
  const entries = names
    .map((n) => {
      try {
        const st = statSync(join(dir, n));
        return { n, size: st.size, t: st.mtimeMs };
      } catch {
        return undefined;
      }
    })
    .filter((e): e is { n: string; size: number; t: number } => e !== undefined)
    .sort((a, b) => a.t - b.t);
  let total = entries.reduce((s, e) => s + e.size, 0);
  let removed = 0;
  for (const e of entries) {
    if (total <= limit) break;
    if (keep && e.n === keep + EXT) continue;
    try {
      rmSync(join(dir, e.n), { force: true });
      total -= e.size;
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
