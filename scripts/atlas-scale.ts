// The figures of docs/SCALE.md: the units of BVLC GoogLeNet (every channel of every inception output, from
// the random-weight twin, which has the reference architecture) and seconds per unit per method on this
// CPU: one shard per method (compile, then a short loop; the loop's cost per step is constant, so a unit
// costs its share of the compile plus the method's steps at that rate). The atlas compiles a shard's program
// once per lane and branch set and retargets it to the next shards' units: the retarget is timed too.
//   node bin/run-ts.js scripts/atlas-scale.ts [--units 4] [--steps 8]
import { cpus } from 'node:os';
import { resolveLayers } from '../src/atlas/atlas.ts';
import { shardObjective } from '../src/atlas/render.ts';
import { DgnProgram } from '../src/optvis/param/generator.ts';
import { runDgnAm } from '../src/optvis/render/dgn.ts';
import { pixelNetwork, pixelOptions, runPixel } from '../src/optvis/render/pixel.ts';
import { loadPrepared } from '../src/optvis/render/visualize.ts';
import { resolveClassifier, resolveGenerator } from '../src/models/registry.ts';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const units = arg('units', 4);
const steps = arg('steps', 8);
const classifier = resolveClassifier('twin:googlenet');
const layers = resolveLayers(classifier, 'all');
const total = layers.reduce((a, l) => a + l.channels, 0);
console.log(`BVLC GoogLeNet (twin): ${layers.length} inception outputs, ${total} units`);
for (const l of layers) console.log(`  ${l.name}  ${l.channels}`);
console.log(`CPU: ${cpus().length} x ${cpus()[0]?.model}`);

const generator = resolveGenerator('twin:fc6-generator');
const layer = layers.find((l) => l.name.startsWith('inception_4c')) ?? layers[0]!;
const names = { labels: classifier.labels, preSoftmax: classifier.card.preSoftmax, aliases: classifier.card.aliases };
const size = classifier.card.input.size;
const report = (method: string, batch: number, compileMs: number, loopMs: number, fullSteps: number) => {
  const perStep = loopMs / (steps + 1) / batch;
  const perUnit = (compileMs / batch + perStep * fullSteps) / 1000;
  console.log(`${method}: ${layer.name}, batch ${batch}: ${perStep.toFixed(0)} ms per unit-step, ${(compileMs / 1000).toFixed(1)} s to compile a shard; ${perUnit.toFixed(1)} s per unit at ${fullSteps} steps`);
};
{
  const t0 = performance.now();
  const net = await pixelNetwork({ classifier: loadPrepared(classifier.modelPath, units, size), card: classifier.card, objective: shardObjective(layer.tensor, Array.from({ length: units }, (_, u) => u)), names, masksAsInputs: true });
  const t1 = performance.now();
  await runPixel(net, size, pixelOptions('fourier', { steps, batch: units, seed: 0 }));
  const t2 = performance.now();
  report('fourier', units, t1 - t0, t2 - t1, 128);
  const t3 = performance.now();
  const ok = net.retarget(shardObjective(layer.tensor, Array.from({ length: units }, (_, u) => u + units)));
  console.log(`fourier: retargeted to the next shard's units in ${(performance.now() - t3).toFixed(0)} ms (${ok ? 'same program' : 'needs a compile'})`);
  await net.release();
}
{
  // the fc6 generator's graph fixes batch 1: DGN-AM shards of GoogLeNet are one unit each
  const t0 = performance.now();
  const program = await DgnProgram.create({
    generator: loadPrepared(generator.modelPath, 1),
    classifier: loadPrepared(classifier.modelPath, 1, size),
    generatorCard: generator.card,
    classifierCard: classifier.card,
    objective: shardObjective(layer.tensor, [0]),
    names,
    masksAsInputs: true,
  });
  const t1 = performance.now();
  await runDgnAm(program, { steps, startStep: 2, endStep: 1e-10, l2: 0.99, optimizer: 'nguyen', init: 'random', seed: 0 });
  const t2 = performance.now();
  report('dgn', 1, t1 - t0, t2 - t1, 200);
  const t3 = performance.now();
  const ok = program.retarget(shardObjective(layer.tensor, [1]));
  console.log(`dgn: retargeted to the next unit in ${(performance.now() - t3).toFixed(0)} ms (${ok ? 'same program' : 'needs a compile'})`);
  await program.release();
}
