// fviz worker: takes atlas shards from a Redis queue (BullMQ) until it is empty.
import { MODEL_NAMES } from './models-arg.ts';
import { defineCommand } from './types.ts';

export const workerCommand = defineCommand(
  'worker',
  'render atlas shards from a queue (fviz atlas --queue) until it is empty; the model files are checked against the atlas by sha256',
  (c) =>
    c
      .option('queue', { type: 'string', demandOption: true, describe: 'redis://HOST:PORT of the atlas\'s queue' })
      .option('name', { type: 'string', default: 'fviz-atlas', describe: 'the queue\'s name' })
      .option('model', { type: 'string', describe: `this machine's copy of the classifier: ${MODEL_NAMES} (default: the atlas's)` })
      .option('generator', { type: 'string', describe: "this machine's copy of the generator (default: the atlas's)" })
      .option('out', { type: 'string', describe: 'the shared output folder as mounted here (default: the path fviz atlas was given)' })
      .option('lock-duration', { type: 'number', default: 30000, describe: 'ms a shard stays locked without renewal: a dead worker\'s shard is taken over after this' })
      .option('lanes', { type: 'number', describe: 'shards taken side by side on worker threads, one intra-op thread each unless --threads (default: one per core)' })
      .option('idle', { type: 'number', default: 0, describe: 'seconds to wait for more work once the queue is empty' }),
  async (a) => {
    const { runWorker } = await import('../../atlas/worker.ts');
    const r = await runWorker({
      queue: a.queue,
      name: a.name,
      model: a.model,
      generator: a.generator,
      out: a.out,
      lockDuration: a['lock-duration'],
      idleMs: a.idle * 1000,
      lanes: a.lanes,
      device: a.device,
      threads: a.threads,
      onShard: (e) => {
        if (e.phase === 'start') console.log(`start ${e.shard} (${e.units} units)`);
        else console.log(`done ${e.shard}: ${e.rendered ? `rendered in ${((e.ms ?? 0) / 1000).toFixed(1)} s` : 'already finished'}`);
      },
      onFailed: (e) =>
        console.log(`failed ${e.shard} (attempt ${e.attempt} of ${e.attempts}): ${e.error}${e.retryInMs === undefined ? '; no attempt left' : `; retrying in ${(e.retryInMs / 1000).toFixed(0)} s`}`),
    });
    console.log(`worker: queue empty; ${r.shards} shard(s) taken, ${r.rendered} rendered (${r.units} units)`);
  },
);
