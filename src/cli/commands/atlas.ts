// fviz atlas: every unit of the chosen layers by each method and seed, in batches, as a static site;
// in this process, or through a queue of workers (--queue). fviz atlas serve DIR: the site on loopback.
// fviz atlas status: how far a run is, from the queue or the folder.
import { FvizError } from '../../errors.ts';
import { ProgressLine } from '../../util/progress.ts';
import { MODEL_NAMES } from './models-arg.ts';
import { defineCommand } from './types.ts';

export const atlasCommand = defineCommand(
  'atlas [action] [dir]',
  'every unit of a model, rendered in batches (in this process or by workers on a Redis queue), as a static site; atlas serve DIR shows it, atlas status shows progress',
  (c) =>
    c
      .positional('action', { choices: ['serve', 'status'] as const, describe: 'serve: the site in DIR on a loopback port; status: progress (with --queue, or of DIR / --out)' })
      .positional('dir', { type: 'string', describe: 'the atlas folder (serve, status)' })
      .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
      .option('generator', { type: 'string', describe: 'generator for --methods dgn (e.g. embedded)' })
      .option('layers', { type: 'string', describe: "layers, comma-separated, or all (every inception output; else every ReLU)" })
      .option('methods', { type: 'string', default: 'fourier', describe: 'methods, comma-separated: pixel methods (naive, l2, tv, blur, bilateral, robust, fourier) and dgn' })
      .option('seeds', { type: 'number', default: 1, describe: 'seeds per unit and method (0..N-1)' })
      .option('steps', { type: 'number', default: 128, describe: 'optimization steps per render' })
      .option('batch', { type: 'number', describe: 'units per compiled batch (default: chosen by memory, or the folder\'s own)' })
      .option('units', { type: 'string', describe: 'only these units of each layer, e.g. 0-15,42' })
      .option('dataset', { type: 'string', describe: 'dataset for the top and bottom examples and the activation spectrum: cifar10, a CIFAR-10 binary folder or an image folder' })
      .option('out', { type: 'string', describe: 'output folder: the site (index.html), renders/, shards/, atlas.json' })
      .option('lanes', { type: 'number', describe: 'shards rendered side by side on worker threads, one intra-op thread each unless --threads (default: one per core)' })
      .option('shard', { type: 'number', describe: 'render only shard I of the plan (0-based) and no site: one pod of a Kubernetes Indexed Job (needs --batch)' })
      .option('queue', { type: 'string', describe: 'redis://HOST:PORT: shard the run over `fviz worker`s through BullMQ on this Redis' })
      .option('name', { type: 'string', default: 'fviz-atlas', describe: 'the queue\'s name (several atlases on one Redis)' })
      .option('enqueue-only', { type: 'boolean', describe: 'with --queue: only enqueue (run the same command again later to write the site)' })
      .option('port', { type: 'number', default: 8080, describe: 'serve: the loopback port (0: any free one)' })
      .option('json', { type: 'boolean', describe: 'status: print as JSON' }),
  async (a) => {
    if (a.action === 'serve') {
      const dir = a.dir ?? a.out;
      if (!dir) throw new FvizError('fviz atlas serve needs the atlas folder: fviz atlas serve DIR');
      const { serveAtlas } = await import('../../atlas/serve.ts');
      const s = await serveAtlas(dir, a.port);
      console.log(`serving ${dir} at ${s.url} (Ctrl-C stops)`);
      await new Promise(() => {});
      return;
    }
    if (a.action === 'status') {
      const { queueStatus, folderStatus, formatStatus } = await import('../../atlas/status.ts');
      const dir = a.dir ?? a.out;
      if (!a.queue && !dir) throw new FvizError('fviz atlas status needs --queue redis://HOST:PORT or the atlas folder');
      const s = a.queue ? await queueStatus(a.queue, a.name) : folderStatus(dir!);
      console.log(a.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      return;
    }
    if (!a.layers) throw new FvizError('fviz atlas needs --layers L1,L2 or --layers all');
    if (!a.out) throw new FvizError('fviz atlas needs --out DIR');
    const opts = {
      model: a.model,
      generator: a.generator,
      layers: a.layers,
      methods: a.methods,
      seeds: a.seeds,
      steps: a.steps,
      batch: a.batch,
      units: a.units,
      dataset: a.dataset,
      out: a.out,
      device: a.device,
      threads: a.threads,
    };
    let line: ProgressLine | undefined;
    if (a.queue) {
      const { queueAtlas } = await import('../../atlas/queue.ts');
      const r = await queueAtlas({
        ...opts,
        queue: a.queue,
        name: a.name,
        noWait: a['enqueue-only'],
        onQueued: (q) => console.log(`queued ${q.queued} shard(s) of atlas ${q.atlas} at ${a.queue} (${q.finished} already finished)`),
        onWait: (done, total) => {
          line ??= new ProgressLine('atlas (workers)', total, 'shards');
          if (done < total) line.update(done);
          else line.done(`${total} shards`);
        },
      });
      if (a['enqueue-only']) console.log(`start fviz worker --queue ${a.queue}${a.name === 'fviz-atlas' ? '' : ` --name ${a.name}`}, then run this command again for the site`);
      else console.log(`atlas ${r.plan.id}: ${r.queued} shard(s) rendered by workers, ${r.skipped} already finished; wrote ${r.pages.length} pages to ${r.out}`);
      return;
    }
    const { runAtlas } = await import('../../atlas/atlas.ts');
    const r = await runAtlas({
      ...opts,
      lanes: a.lanes,
      shard: a.shard,
      onShard: (p) => {
        line ??= new ProgressLine('atlas', p.total, 'shards');
        if (p.done < p.total) line.update(p.done);
        else line.done(`${p.total} shards`);
      },
    });
    if (a.shard !== undefined) {
      console.log(`atlas ${r.plan.id}: shard ${a.shard} of ${r.plan.shards.length} ${r.rendered ? 'rendered' : 'already finished'}`);
      return;
    }
    console.log(`atlas ${r.plan.id}: ${r.plan.renders} renders of ${r.plan.layers.length} layer(s), batch ${r.plan.batch}; ${r.rendered} shard(s) rendered, ${r.skipped} already finished; wrote ${r.pages.length} pages to ${r.out} in ${(r.ms / 1000).toFixed(1)} s`);
  },
);
