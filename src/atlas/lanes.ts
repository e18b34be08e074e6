// Lanes: shards rendered side by side on worker threads, one intra-op thread each. onnxruntime-node runs a
// session synchronously on the thread that calls it, so two shards on one thread take turns; on worker
// threads they use one core each. On this CPU a batch costs about the same per item as one unit (the
// kernels loop over the batch), so what batching buys is compiled programs shared by many units and
// independent shards that fill every core; a single unit's intra-op threads lose to a second lane.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { FvizError } from '../errors.ts';
import type { SessionOptions } from '../runtime/session.ts';
import type { AtlasPlan, Shard } from './plan.ts';

/** What a lane thread needs to render a plan's shards: the models as this machine names them (already checked by sha256). */
export interface LaneSetup {
  dir: string;
  plan: AtlasPlan;
  /** The classifier and generator as given on this machine (a catalog name or a path), resolved again in the thread. */
  model: string;
  generator?: string;
}

export interface LaneDone {
  rendered: boolean;
  ms: number;
}

interface Reply {
  id: number;
  done?: LaneDone;
  error?: { message: string; fviz: boolean; subject?: string; stack?: string };
}

/** Lanes when none are asked for: one per core. */
export function defaultLanes(): number {
  return Math.max(1, availableParallelism());
}

export function checkLanes(lanes: number): number {
  if (!Number.isInteger(lanes) || lanes < 1) throw new FvizError(`--lanes ${lanes} must be a positive integer`);
  return lanes;
}

function threadEntry(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // A checkout runs the sources through tsx: the thread registers it before it loads the lane.
    const entry = new URL('./lane-thread.ts', here).href;
    return new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
  }
  return new Worker(new URL('./lane-thread.js', here));
}

class Lane {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (d: LaneDone) => void; reject: (e: Error) => void }>();
  private next = 0;
  private failure: Error | undefined;

  /** Plans this thread has been sent, by id and folder. */
  private readonly sent = new Set<string>();

  constructor(session: Pick<SessionOptions, 'device' | 'threads'>) {
    this.worker = threadEntry();
    this.worker.postMessage({ session });
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.done) return p.resolve(m.done);
      const e = m.error!;
      const cause = Object.assign(new Error(e.message), { stack: e.stack });
      p.reject(e.fviz ? new FvizError(e.message, { subject: e.subject, cause }) : cause);
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`an atlas lane thread stopped (exit code ${code})`)));
  }

  run(setup: LaneSetup, shard: Shard): Promise<LaneDone> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    const plan = `${setup.plan.id} ${setup.dir}`;
    if (!this.sent.has(plan)) {
      this.worker.postMessage({ plan, setup });
      this.sent.add(plan);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, plan, shard });
    });
  }

  /** Releases the program the thread keeps warm for its next shard. */
  releaseWarm(): Promise<void> {
    if (this.failure) return Promise.resolve();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: () => resolve(), reject });
      this.worker.postMessage({ id, release: true });
    });
  }

  async close(): Promise<void> {
    await this.releaseWarm().catch(() => {});
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** `n` lane threads; `run` hands a shard to the least busy one. */
export class LanePool {
  private readonly lanes: Lane[];
  private readonly busy: number[];

  constructor(n: number, session: Pick<SessionOptions, 'device' | 'threads'> = {}) {
    this.lanes = Array.from({ length: checkLanes(n) }, () => new Lane({ device: session.device, threads: session.threads ?? 1 }));
    this.busy = this.lanes.map(() => 0);
  }

  get size(): number {
    return this.lanes.length;
  }

  async run(setup: LaneSetup, shard: Shard): Promise<LaneDone> {
    let k = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[k]!) k = i;
    this.busy[k]!++;
    try {
      return await this.lanes[k]!.run(setup, shard);
    } finally {
      this.busy[k]!--;
    }
  }

  /** Releases every thread's warm program (the next shard on each compiles). */
  async releaseWarm(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.releaseWarm()));
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}
