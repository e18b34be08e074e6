// `fviz worker --queue redis://...`: takes an atlas's shards from the queue until it is empty. Before it
// takes any, it reads the plan from Redis and checks its own model files against the plan's sha256; a
// worker with other files refuses to start. Each shard is rendered with write-then-rename files and the
// manifest last, so a worker killed mid-shard leaves nothing visible and its shard, once its lock runs
// out, is taken over by another worker (BullMQ's stalled-job check).
import { Worker, type Job } from 'bullmq';
import { FvizError } from '../errors.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { contextForPlan, runShard } from './atlas.ts';
import { checkRedis, connectionOf, loadPlan, openQueue, parseQueueUrl, type QueuedAtlas } from './queue.ts';
import type { RenderContext } from './render.ts';

export interface WorkerOptions extends SessionOptions {
  queue: string;
  name?: string;
  /** This machine's copies of the models (default: the plan's names, resolved here). */
  model?: string;
  generator?: string;
  /** The shared output folder as this machine mounts it (default: the enqueuer's path). */
  out?: string;
  /** How long a shard's lock lasts without renewal: a dead worker's shard is taken over after this (ms). */
  lockDuration?: number;
  /** Shards taken side by side (BullMQ concurrency), one intra-op thread each unless threads is given (default 1). */
  lanes?: number;
  /** Keep waiting for work this long after the queue empties (ms; default 0: stop at once). */
  idleMs?: number;
  onShard?: (e: { shard: string; phase: 'start' | 'done'; rendered?: boolean; ms?: number; units: number }) => void;
}

export interface WorkerResult {
  shards: number;
  rendered: number;
  units: number;
}

/** Takes shards until the queue has nothing waiting, delayed or active. */
export async function runWorker(o: WorkerOptions): Promise<WorkerResult> {
  const target = parseQueueUrl(o.queue, o.name);
  await checkRedis(target);
  let queued = await loadPlan(target);
  if (!queued) throw new FvizError(`no atlas is queued at ${o.queue} (queue '${target.name}'): run fviz atlas --queue ${o.queue} first`);
  const lanes = o.lanes ?? 1;
  if (!Number.isInteger(lanes) || lanes < 1) throw new FvizError(`--lanes ${lanes} must be a positive integer`);
  const session = { ...o, threads: o.threads ?? (lanes > 1 ? 1 : undefined) };
  let ctx: RenderContext = await contextForPlan(queued.plan, session);
  const result: WorkerResult = { shards: 0, rendered: 0, units: 0 };
  const lock = o.lockDuration ?? 30_000;

  const process = async (job: Job<{ plan: string; shard: string }>) => {
    if (job.data.plan !== queued!.plan.id) {
      // A newer atlas on the same queue: its plan, and its models checked again.
      const next = await loadPlan(target);
      if (!next || next.plan.id !== job.data.plan) throw new Error(`job ${job.id} belongs to atlas ${job.data.plan}, whose plan is no longer in Redis`);
      ctx = await contextForPlan(next.plan, session);
      queued = next;
    }
    const q: QueuedAtlas = queued!;
    const shard = q.plan.shards.find((s) => s.key === job.data.shard);
    if (!shard) throw new Error(`shard ${job.data.shard} is not in atlas ${q.plan.id}`);
    o.onShard?.({ shard: shard.key, phase: 'start', units: shard.units.length });
    const r = await runShard(ctx, o.out ?? q.out, q.plan, shard);
    result.shards++;
    if (r.rendered) {
      result.rendered++;
      result.units += shard.units.length;
    }
    o.onShard?.({ shard: shard.key, phase: 'done', rendered: r.rendered, ms: r.ms, units: shard.units.length });
    return { units: shard.units.length, rendered: r.rendered, ms: r.ms };
  };

  const worker = new Worker(target.name, process, {
    connection: connectionOf(target),
    concurrency: lanes,
    lockDuration: lock,
    stalledInterval: Math.max(500, Math.floor(lock / 2)),
    maxStalledCount: 5,
  });
  worker.on('error', () => {}); // connection drops: ioredis reconnects, BullMQ resumes
  const queue = openQueue(target);
  try {
    let idleSince = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 300));
      let counts: Record<string, number>;
      try {
        counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
      } catch {
        continue; // Redis away for a moment
      }
      const open = Object.values(counts).reduce((a, b) => a + b, 0);
      if (open > 0) {
        idleSince = 0;
        continue;
      }
      idleSince ||= Date.now();
      if (Date.now() - idleSince >= (o.idleMs ?? 0)) break;
    }
  } finally {
    await worker.close();
    await queue.close();
  }
  return result;
}
