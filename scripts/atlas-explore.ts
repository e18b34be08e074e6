import { resolveClassifier } from '../src/models/registry.ts';
import { resolveLayers } from '../src/atlas/atlas.ts';
import { renderBatch } from '../src/atlas/render.ts';
import { planAtlas } from '../src/atlas/plan.ts';
const cls = resolveClassifier('embedded');
const layers = resolveLayers(cls, process.argv[2] ?? 'inception_4a/output');
const steps = Number(process.argv[3] ?? 128);
const method = process.argv[4] ?? 'fourier';
const N = 16;
const settings = (batch: number) => ({ model: { spec: 'embedded', file: 'c', sha256: 'x' }, layers, methods: [method], seeds: 1, steps, batch, units: Array.from({ length: N }, (_, i) => i) });
for (const [batch, threads, par] of [[1, undefined, 1], [16, undefined, 1], [8, 1, 2], [16, 1, 1], [4, 1, 2], [1, 1, 2]] as const) {
  const plan = planAtlas(settings(batch));
  const shards = plan.shards.filter((s) => s.kind === 'render');
  const t0 = performance.now();
  let next = 0;
  const lane = async () => { while (next < shards.length) { const s = shards[next++]!; if (s.kind === 'render') await renderBatch({ classifier: cls, threads }, plan, s); } };
  await Promise.all(Array.from({ length: par }, lane));
  const ms = performance.now() - t0;
  console.log(`batch ${batch} threads ${threads ?? 'default'} lanes ${par}: ${(ms / N).toFixed(0)} ms/unit, ${Math.round(N / (ms / 3.6e6))} units/hour`);
}
