// The atlas on a job engine: BullMQ on Redis. `fviz atlas --queue redis://HOST:PORT` stores the plan in
// Redis and adds one job per unfinished shard (job id = the shard's key, so a shard is queued once);
// `fviz worker` (worker.ts) takes them. Retries back off exponentially; a worker that dies mid-shard
// loses its lock and BullMQ's stalled-job check hands the shard to another worker.
import { resolve } from 'node:path';
import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { FvizError } from '../errors.ts';
import { finishAtlas, pendingShards, prepareAtlas, type AtlasOptions, type AtlasResult } from './atlas.ts';
import type { AtlasPlan } from './plan.ts';

export const DEFAULT_QUEUE_NAME = 'fviz-atlas';
/** Attempts per shard, and the first retry's delay (doubling after each failure). */
export const SHARD_ATTEMPTS = 4;
export const RETRY_DELAY_MS = 2000;

export interface QueueTarget {
  url: string;
  host: string;
  port: number;
  db: number;
  /** The BullMQ queue's name. */
  name: string;
}

/** redis://HOST:PORT[/DB] -> its parts; anything else fails with one line. */
export function parseQueueUrl(url: string, name = DEFAULT_QUEUE_NAME): QueueTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new FvizError(`--queue '${url}' is not a URL: give redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:') throw new FvizError(`--queue '${url}' is not a redis:// URL: give redis://HOST:PORT`);
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new FvizError(`--queue '${url}': the database '${u.pathname.slice(1)}' must be a number`);
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new FvizError(`--name '${name}': use letters, digits, '-' and '_'`);
  return { url, host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 6379, db, name };
}

/** Connection options for BullMQ: reconnect forever (a restarted Redis is waited for, not an error). */
export function connectionOf(t: QueueTarget): ConnectionOptions {
  return { host: t.host, port: t.port, db: t.db, maxRetriesPerRequest: null, retryStrategy: (n: number) => Math.min(200 * n, 2000) };
}

/** One PING with a short timeout: an unreachable Redis is one line, not a hang. */
export async function checkRedis(t: QueueTarget): Promise<void> {
  const client = new Redis({ host: t.host, port: t.port, db: t.db, lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new FvizError(`cannot reach Redis at ${t.url}: ${(e as Error).message || String(e)}; start redis-server there or fix --queue`, { subject: t.url });
  } finally {
    client.disconnect();
  }
}

/** Where the queue's plan is kept (beside BullMQ's own keys). */
export const planKey = (t: QueueTarget) => `fviz:atlas:${t.name}:plan`;

export interface QueuedAtlas {
  plan: AtlasPlan;
  /** The output folder as the enqueuing machine sees it (a worker may be told another mount point). */
  out: string;
}

export async function storePlan(t: QueueTarget, q: QueuedAtlas): Promise<void> {
  const client = new Redis(connectionOf(t) as object);
  try {
    await client.set(planKey(t), JSON.stringify(q));
  } finally {
    client.disconnect();
  }
}

export async function loadPlan(t: QueueTarget): Promise<QueuedAtlas | undefined> {
  const client = new Redis(connectionOf(t) as object);
  try {
    const text = await client.get(planKey(t));
    return text ? (JSON.parse(text) as QueuedAtlas) : undefined;
  } finally {
    client.disconnect();
  }
}

export function openQueue(t: QueueTarget): Queue {
  const q = new Queue(t.name, { connection: connectionOf(t) });
  q.on('error', () => {}); // reconnects are retried by ioredis; errors surface through the calls
  return q;
}

/** Adds a job for every shard not finished on disk; a finished or failed job of the same shard is replaced. */
export async function enqueueShards(t: QueueTarget, dir: string, plan: AtlasPlan): Promise<number> {
  const q = openQueue(t);
  try {
    const pending = pendingShards(dir, plan);
    for (const s of pending) {
      const old = await q.getJob(s.key);
      if (old && ((await old.isCompleted()) || (await old.isFailed()))) await old.remove();
    }
    await q.addBulk(
      pending.map((s) => ({
        name: s.kind,
        data: { plan: plan.id, shard: s.key },
        opts: { jobId: s.key, attempts: SHARD_ATTEMPTS, backoff: { type: 'exponential', delay: RETRY_DELAY_MS }, removeOnComplete: false, removeOnFail: false },
      })),
    );
    return pending.length;
  } finally {
    await q.close();
  }
}

export interface QueueAtlasOptions extends AtlasOptions {
  queue: string;
  name?: string;
  /** Only enqueue; the site is written by a later `fviz atlas` (same options) once the workers are done. */
  noWait?: boolean;
  /** Called while waiting, with shards finished on disk. */
  onWait?: (done: number, total: number) => void;
  pollMs?: number;
}

/** Plans, enqueues the unfinished shards, waits for the workers, writes the site. */
export async function queueAtlas(o: QueueAtlasOptions): Promise<AtlasResult & { queued: number }> {
  const t0 = performance.now();
  const target = parseQueueUrl(o.queue, o.name);
  await checkRedis(target);
  const { plan } = await prepareAtlas(o);
  // Jobs first, then the plan: a worker that finds the plan also finds the jobs.
  const queued = await enqueueShards(target, o.out, plan);
  await storePlan(target, { plan, out: resolve(o.out) });
  const total = plan.shards.length;
  if (o.noWait) return { out: o.out, plan, rendered: 0, skipped: total - queued, pages: [], ms: performance.now() - t0, queued };
  const q = openQueue(target);
  try {
    for (;;) {
      const left = pendingShards(o.out, plan);
      o.onWait?.(total - left.length, total);
      if (left.length === 0) break;
      const failed = await failedShards(q, new Set(left.map((s) => s.key)));
      if (failed.length) throw new FvizError(`shard ${failed[0]!.id} failed ${SHARD_ATTEMPTS} times: ${failed[0]!.reason} (fviz atlas status --queue ${o.queue} lists the failures)`);
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    await q.close();
  }
  const pages = finishAtlas(o.out, plan);
  return { out: o.out, plan, rendered: queued, skipped: total - queued, pages, ms: performance.now() - t0, queued };
}

/** Jobs of these shards that used up their attempts. */
export async function failedShards(q: Queue, keys: Set<string>): Promise<{ id: string; reason: string }[]> {
  const jobs = await q.getFailed(0, -1);
  return jobs.filter((j) => j.id && keys.has(j.id)).map((j) => ({ id: j.id!, reason: j.failedReason }));
}
