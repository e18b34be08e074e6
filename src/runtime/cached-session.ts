// A compiled program's onnxruntime session through the program cache: a hit loads onnxruntime's stored optimized
// graph (weights mapped from their file, not pre-packed) while a worker checks the weights' checksum; a miss
// builds the program, lets onnxruntime optimize and store it, and then loads the stored copy the same way, so cold
// and warm runs execute the same graph with the same kernels and give the same bytes. onnxruntime-node only: the
// stored graph is onnxruntime-node's optimized form (the live page's onnxruntime-web compiles without this cache).
import { join } from 'node:path';
import { discardProgram, openProgram, programCacheDir, storeProgram } from './program-cache.ts';
import { Session, type SessionOptions } from './session.ts';
import type { Feeds, ProgramSession } from './program-session.ts';
import type { TensorData } from '../onnx/ir.ts';

const PROGRAM = 'program.onnx';

/** What building a program gives: its ONNX bytes and what running it needs (stored in entry.json). */
export interface BuiltProgram {
  bytes: Uint8Array;
  meta: Record<string, unknown>;
}

/** A program's session and how it came. */
export interface CachedSession {
  session: ProgramSession;
  meta: Record<string, unknown>;
  /** The build, when this process built the program (undefined on a hit). */
  built?: BuiltProgram;
  /** 'hit': loaded from the cache; 'stored': built and stored; 'uncached': built, no cache (off, read-only, no key). */
  via: 'hit' | 'stored' | 'uncached';
}

/**
 * Sessions of stored programs: the optimized graph as stored (no optimization pass again) and no weight pre-packing,
 * which copies every weight at start-up (twins' DGN-AM program: session 1.3-1.8 s with it, 0.05 s without; steps the
 * same within noise, bench/startup-benches.ts).
 */
function storedOptions(opts: SessionOptions): SessionOptions & { prepacking: boolean } {
  return { ...opts, optimization: 'disabled', prepacking: false };
}

/**
 * A stored program's session whose weights are still being checked: the first run goes on beside the check and
 * returns only once the check passed; when it fails, the entry is removed (one stderr line) and the program is
 * built again, and that run repeated on the rebuilt session.
 */
class CheckedSession implements ProgramSession {
  private check: Promise<string | undefined> | undefined;
  constructor(
    private inner: ProgramSession,
    check: Promise<string | undefined>,
    private readonly rebuild: (why: string) => Promise<ProgramSession>,
  ) {
    this.check = check;
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  async run(feeds: Feeds, outputs?: string[]): Promise<Record<string, TensorData>> {
    const check = this.check;
    if (!check) return this.inner.run(feeds, outputs);
    const [bad, out] = await Promise.all([check, this.inner.run(feeds, outputs).catch((e: unknown) => e)]);
    this.check = undefined;
    if (bad) {
      await this.inner.release();
      this.inner = await this.rebuild(bad);
      return this.inner.run(feeds, outputs);
    }
    if (out instanceof Error) throw out;
    return out as Record<string, TensorData>;
  }

  async release(): Promise<void> {
    await this.check?.catch(() => undefined); // the worker finishes before the files may go
    await this.inner.release();
  }
}

/**
 * The session of the program under `key` (undefined: no caching): loaded when stored and whole; otherwise built
 * with `build`, stored (unless `storable()` says no after the build) and loaded. `label` is what `fviz cache ls`
 * shows.
 */
export async function cachedSession(
  key: string | undefined,
  label: string,
  build: () => BuiltProgram | Promise<BuiltProgram>,
  opts: SessionOptions = {},
  storable: () => boolean = () => true,
): Promise<CachedSession> {
  const dir = programCacheDir();
  const hit = key ? openProgram(key, dir) : undefined;
  if (hit && key) {
    try {
      const session = await Session.create(join(hit.dir, PROGRAM), storedOptions(opts));
      const rebuild = async (why: string) => {
        discardProgram(key, why, dir);
        return (await fill(key, label, build, opts, storable, dir)).session;
      };
      return { session: new CheckedSession(session, hit.verified, rebuild), meta: hit.meta, via: 'hit' };
    } catch (e) {
      const bad = await hit.verified;
      discardProgram(key, bad ?? `onnxruntime could not load it: ${e instanceof Error ? e.message : String(e)}`, dir);
    }
  }
  return fill(key, label, build, opts, storable, dir);
}

/** Builds the program, stores it (when there is a key and a writable cache) and loads the stored copy. */
async function fill(
  key: string | undefined,
  label: string,
  build: () => BuiltProgram | Promise<BuiltProgram>,
  opts: SessionOptions,
  storable: () => boolean,
  dir: string,
): Promise<CachedSession> {
  const built = await build();
  const stored =
    key && storable()
      ? await storeProgram(
          key,
          async (tmp) => {
            const s = await Session.create(built.bytes, { ...opts, optimization: 'all', prepacking: false, saveOptimizedTo: join(tmp, PROGRAM) });
            await s.release();
          },
          { ...built.meta, label },
          dir,
        )
      : undefined;
  if (stored) {
    try {
      return { session: await Session.create(join(stored, PROGRAM), storedOptions(opts)), meta: built.meta, built, via: 'stored' };
    } catch {
      /* evicted or replaced by another process meanwhile: run from memory */
    }
  }
  return { session: await Session.create(built.bytes, opts), meta: built.meta, built, via: 'uncached' };
}
