// A compiled program's onnxruntime session through the program cache: a hit loads onnxruntime's stored optimized
// graph (weights mapped from their file, not pre-packed) while a worker checks the weights' checksum; a miss
// builds the program, lets onnxruntime optimize and store it, and then loads the stored copy the same way, so cold
// and warm runs execute the same graph with the same kernels and give the same bytes.
import { join } from 'node:path';
import { openProgram, discardProgram, programCacheDir, storeProgram } from './program-cache.ts';
import { Session, type SessionOptions } from './session.ts';

const PROGRAM = 'program.onnx';

/** What building a program gives: its ONNX bytes and what running it needs (stored in entry.json). */
export interface BuiltProgram {
  bytes: Uint8Array;
  meta: Record<string, unknown>;
}

export interface ProgramSession {
  session: Session;
  meta: Record<string, unknown>;
  /** The build, when this process built the program (undefined on a hit). */
  built?: BuiltProgram;
  /** 'hit': loaded from the cache; 'stored': built and stored; 'uncached': built, no cache (off, read-only, no key). */
  via: 'hit' | 'stored' | 'uncached';
}

/**
 * Sessions of stored programs: the optimized graph as stored (no optimization pass again) and no weight pre-packing,
 * which would copy every weight at start-up (measured: 1.8 s of 2.0 s for the twins' program, steps unchanged).
 */
function storedOptions(opts: SessionOptions): SessionOptions & { prepacking: boolean } {
  return { ...opts, optimization: 'disabled', prepacking: false };
}

/**
 * The session of the program under `key` (undefined: no caching): loaded when stored and whole; otherwise built
 * with `build`, stored (unless `storable()` says no after the build) and loaded. `label` is what `fviz cache ls` shows.
 */
export async function programSession(
  key: string | undefined,
  label: string,
  build: () => BuiltProgram | Promise<BuiltProgram>,
  opts: SessionOptions = {},
  storable: () => boolean = () => true,
): Promise<ProgramSession> {
  const dir = programCacheDir();
  const hit = key ? openProgram(key, dir) : undefined;
  if (hit && key) {
    const [session, bad] = await Promise.all([Session.create(join(hit.dir, PROGRAM), storedOptions(opts)).catch((e: unknown) => e), hit.verified]);
    if (session instanceof Session && !bad) return { session, meta: hit.meta, via: 'hit' };
    if (session instanceof Session) await session.release();
    discardProgram(key, bad ?? `onnxruntime could not load it: ${session instanceof Error ? session.message : String(session)}`, dir);
  }
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
