// What a batch saves per unit on this CPU: the atlas's renderer (src/atlas/render.ts) on one thread at each
// batch size, a shard of `batch` units of inception_4a/output of the embedded classifier, `fourier`, 128
// steps. Each batch renders a first shard (its compile) and then timed shards on the warm program.
//   node bin/run-ts.js scripts/atlas-batch-sweep.ts [--batches 1,2,4,8,16,32] [--steps 128] [--reps 2]
import { resolveLayers } from '../src/atlas/atlas.ts';
import { planAtlas, type RenderShard } from '../src/atlas/plan.ts';
import { releaseWarmProgram, renderBatch } from '../src/atlas/render.ts';
import { resolveClassifier } from '../src/models/registry.ts';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const batches = arg('batches', '1,2,4,8,16,32').split(',').map(Number);
const steps = Number(arg('steps', '128'));
const reps = Number(arg('reps', '2'));
const classifier = resolveClassifier('embedded');
const layers = resolveLayers(classifier, 'inception_4a/output');
const ctx = { classifier, threads: 1 };
for (const batch of batches) {
  const plan = planAtlas({ model: { spec: 'embedded', file: 'classifier.onnx', sha256: 'sweep' }, layers, methods: ['fourier'], seeds: 1, steps, batch, units: Array.from({ length: batch * (reps + 1) }, (_, u) => u % 32) });
  const shards = plan.shards.filter((s): s is RenderShard => s.kind === 'render');
  const t0 = performance.now();
  await renderBatch(ctx, plan, shards[0]!);
  const first = performance.now() - t0;
  const t1 = performance.now();
  for (const s of shards.slice(1)) await renderBatch(ctx, plan, s);
  const perUnit = (performance.now() - t1) / (batch * reps);
  console.log(`batch ${batch}: ${perUnit.toFixed(0)} ms per unit on a warm program (${(first / batch).toFixed(0)} ms per unit for the first shard, with its compile)`);
  await releaseWarmProgram();
}
