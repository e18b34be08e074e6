// One lane of an atlas (lanes.ts): a worker thread that renders the shards its parent sends, one at a time.
import { parentPort } from 'node:worker_threads';
import { isFvizError } from '../errors.ts';
import { resolveClassifier, resolveGenerator } from '../models/registry.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { runShard } from './atlas.ts';
import type { LaneSetup } from './lanes.ts';
import type { Shard } from './plan.ts';
import { releaseWarmProgram, type RenderContext } from './render.ts';

type Message =
  | { session: Pick<SessionOptions, 'device' | 'threads'> }
  | { plan: string; setup: LaneSetup }
  | { id: number; plan: string; shard: Shard }
  | { id: number; release: true };

let session: Pick<SessionOptions, 'device' | 'threads'> = {};
const setups = new Map<string, LaneSetup>();
const contexts = new Map<string, RenderContext>();
// Shards that arrive while one renders wait their turn (a thread runs one onnxruntime session at a time).
let queue: Promise<void> = Promise.resolve();

function contextFor(s: LaneSetup): RenderContext {
  const key = `${s.model}\n${s.generator ?? ''}`;
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = { classifier: resolveClassifier(s.model), generator: s.generator ? resolveGenerator(s.generator) : undefined, ...session };
    contexts.set(key, ctx);
  }
  return ctx;
}

parentPort!.on('message', (m: Message) => {
  if ('session' in m) {
    session = m.session;
    return;
  }
  if ('setup' in m) {
    setups.set(m.plan, m.setup);
    return;
  }
  if ('release' in m) {
    queue = queue.then(async () => {
      await releaseWarmProgram();
      parentPort!.postMessage({ id: m.id, done: { rendered: false, ms: 0 } });
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      const s = setups.get(m.plan)!;
      const done = await runShard(contextFor(s), s.dir, s.plan, m.shard);
      parentPort!.postMessage({ id: m.id, done: { rendered: done.rendered, ms: done.ms } });
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      parentPort!.postMessage({ id: m.id, error: { message: err.message, fviz: isFvizError(e), subject: isFvizError(e) ? e.subject : undefined, stack: err.stack } });
    }
  });
});
