// `fviz worker --queue redis://...`: takes an atlas's shards from the queue until it is empty. Before it
// takes any, it reads the plan from Redis and checks its own model files against the plan's sha256; a
// worker with other files refuses to start. Each shard is rendered with write-then-rename files and the
// manifest last, so a worker killed mid-shard leaves nothing visible and its shard, once its lock runs
// out, is taken over by another worker (BullMQ's stalled-job check).
import { Worker, type Job } from 'bullmq';
import { FvizError } from '../errors.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { contextForPlan, runShard } from './atlas.ts';
import { releaseWarmProgram } from './render.ts';
import { checkRedis, connectionOf, loadPlan, openQueue, parseQueueUrl, RETRY_DELAY_MS, type QueuedAtlas } from './queue.ts';
import type { RenderContext } from './render.ts';
import { checkLanes, defaultLanes, LanePool } from './lanes.ts';

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
  /** Shards taken side by side (BullMQ concurrency) on lane threads, one intra-op thread each unless threads is given (default: one per core). */
  lanes?: number;
  /** Keep waiting for work this long after the queue empties (ms; default 0: stop at once). */
  idleMs?: number;
  onShard?: (e: { shard: string; phase: 'start' | 'done'; rendered?: boolean; ms?: number; units: number }) => void;
  /** A shard failed: the error, the attempts made and allowed, and the delay before the next (none when it was the last). */
  onFailed?: (e: { shard: string; error: string; attempt: number; attempts: number; retryInMs?: number }) => void;
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
  const lanes = checkLanes(o.lanes ?? defaultLanes());
  let ctx: RenderContext = await contextForPlan(queued.plan, o);
  const pool = lanes > 1 ? new LanePool(lanes, o) : undefined;
  const result: WorkerResult = { shards: 0, rendered: 0, units: 0 };
  const lock = o.lockDuration ?? 30_000;

  const process = async (job: Job<{ plan: string; shard: string }>) => {
    if (job.data.plan !== queued!.plan.id) {
      // A newer atlas on the same queue: its plan, and its models checked again.
      const next = await loadPlan(target);
      if (!next || next.plan.id !== job.data.plan) throw new Error(`job ${job.id} belongs to atlas ${job.data.plan}, whose plan is no longer in Redis`);
      ctx = await contextForPlan(next.plan, o);
      queued = next;
    }
    const q: QueuedAtlas = queued!;
    const shard = q.plan.shards.find((s) => s.key === job.data.shard);
    if (!shard) throw new Error(`shard ${job.data.shard} is not in atlas ${q.plan.id}`);
    o.onShard?.({ shard: shard.key, phase: 'start', units: shard.units.length });
    const dir = o.out ?? q.out;
    const r = pool ? await pool.run({ dir, plan: q.plan, model: o.model ?? q.plan.model.spec, generator: o.generator ?? q.plan.generator?.spec }, shard) : await runShard(ctx, dir, q.plan, shard);
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
  worker.on('failed', (job, err) => {
    if (!job?.id) return;
    const attempts = job.opts.attempts ?? 1;
    const attempt = job.attemptsMade;
    o.onFailed?.({ shard: job.id, error: err.message, attempt, attempts, retryInMs: attempt < attempts ? RETRY_DELAY_MS * 2 ** (attempt - 1) : undefined });
  });
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
    await pool?.close();
    await releaseWarmProgram();
  }
  return result;
}
