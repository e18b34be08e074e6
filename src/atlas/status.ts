// `fviz atlas status`: how far an atlas is, from any machine: shards and units done of the total, the
// rate in units per hour over the renders finished so far, and the time left at that rate. From the
// queue (--queue) or from the output folder.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import { readPlan } from './atlas.ts';
import { atlasPaths } from './paths.ts';
import type { AtlasPlan } from './plan.ts';
import { checkRedis, loadPlan, openQueue, parseQueueUrl } from './queue.ts';

export interface AtlasStatus {
  atlas: string;
  shards: { done: number; total: number; active: number; failed: number };
  units: { done: number; total: number };
  unitsPerHour: number | null;
  etaSeconds: number | null;
  failures: { shard: string; reason: string }[];
}

/** Units of the plan's render and examples shards. */
const unitsOf = (plan: AtlasPlan, keys: Iterable<string>) => {
  const byKey = new Map(plan.shards.map((s) => [s.key, s.units.length]));
  let n = 0;
  for (const k of keys) n += byKey.get(k) ?? 0;
  return n;
};

function summarize(plan: AtlasPlan, done: Set<string>, spans: { start: number; end: number; units: number }[], active: number, failures: { shard: string; reason: string }[]): AtlasStatus {
  const total = unitsOf(plan, plan.shards.map((s) => s.key));
  const unitsDone = unitsOf(plan, done);
  let unitsPerHour: number | null = null;
  if (spans.length) {
    const start = Math.min(...spans.map((s) => s.start));
    const end = Math.max(...spans.map((s) => s.end));
    const units = spans.reduce((a, s) => a + s.units, 0);
    if (end > start) unitsPerHour = (units / (end - start)) * 3_600_000;
  }
  const left = total - unitsDone;
  return {
    atlas: plan.id,
    shards: { done: done.size, total: plan.shards.length, active, failed: failures.length },
    units: { done: unitsDone, total },
    unitsPerHour,
    etaSeconds: left === 0 ? 0 : unitsPerHour ? (left / unitsPerHour) * 3600 : null,
    failures,
  };
}

/** From the queue: the plan in Redis and its jobs' states and times. */
export async function queueStatus(url: string, name?: string): Promise<AtlasStatus> {
  const t = parseQueueUrl(url, name);
  await checkRedis(t);
  const queued = await loadPlan(t);
  if (!queued) throw new FvizError(`no atlas is queued at ${url} (queue '${t.name}'): run fviz atlas --queue ${url} first`);
  const plan = queued.plan;
  const keys = new Set(plan.shards.map((s) => s.key));
  const q = openQueue(t);
  try {
    const open = new Set<string>();
    for (const j of await q.getJobs(['wait', 'active', 'delayed', 'prioritized', 'paused', 'failed'], 0, -1)) if (j?.id && keys.has(j.id)) open.add(j.id);
    const done = new Set([...keys].filter((k) => !open.has(k)));
    const spans = (await q.getCompleted(0, -1))
      .filter((j) => j.id && keys.has(j.id) && j.processedOn && j.finishedOn && (j.returnvalue as { rendered?: boolean } | undefined)?.rendered)
      .map((j) => ({ start: j.processedOn!, end: j.finishedOn!, units: (j.returnvalue as { units: number }).units }));
    const failures = (await q.getFailed(0, -1)).filter((j) => j.id && keys.has(j.id)).map((j) => ({ shard: j.id!, reason: j.failedReason }));
    return summarize(plan, done, spans, await q.getActiveCount(), failures);
  } finally {
    await q.close();
  }
}

/** From the folder: finished manifests, and the timings the renderers left. */
export function folderStatus(dir: string): AtlasStatus {
  const plan = readPlan(dir);
  if (!plan) throw new FvizError(`'${dir}' holds no atlas (no ${atlasPaths.plan(dir)}): give the --out of fviz atlas`);
  const done = new Set(plan.shards.filter((s) => existsSync(atlasPaths.shardManifest(dir, s.key))).map((s) => s.key));
  const spans: { start: number; end: number; units: number }[] = [];
  const tdir = join(dir, 'timings');
  if (existsSync(tdir))
    for (const f of readdirSync(tdir).filter((f) => f.endsWith('.json'))) {
      try {
        const t = JSON.parse(readFileSync(join(tdir, f), 'utf8')) as { units: number; ms: number; finishedAt: number };
        spans.push({ start: t.finishedAt - t.ms, end: t.finishedAt, units: t.units });
      } catch {
        /* a timing being written: skipped */
      }
    }
  return summarize(plan, done, spans, 0, []);
}

const hms = (s: number) => `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m${String(Math.round(s % 60)).padStart(2, '0')}s`;

/** One line: 'atlas ID: 12/40 shards, 96/320 units done, 1 active, 0 failed; 5400 units/hour; ETA 0h02m29s'. */
export function formatStatus(s: AtlasStatus): string {
  const rate = s.unitsPerHour === null ? 'rate unknown yet' : `${Math.round(s.unitsPerHour)} units/hour`;
  const eta = s.etaSeconds === null ? 'ETA unknown' : s.etaSeconds === 0 ? 'finished' : `ETA ${hms(s.etaSeconds)}`;
  return `atlas ${s.atlas}: ${s.shards.done}/${s.shards.total} shards, ${s.units.done}/${s.units.total} units done, ${s.shards.active} active, ${s.shards.failed} failed; ${rate}; ${eta}`;
}
