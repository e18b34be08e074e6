// Where the time of the compiled gradient programs of benches (a), (b) and (g) goes: onnxruntime's
// profiler over a few runs, summed per op type and per node.
//   node bin/run-ts.js bench/profile-grad.ts [a|b|g] [--runs N] [--top K] [--save FILE.onnx] [--without REWRITE,...]
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { compileFused, GRAPH_REWRITES } from '../src/autodiff/compile.ts';
import { withDisplayInput } from '../src/classifier/card.ts';
import { appendBridge, DGN_IMAGE } from '../src/optvis/param/generator.ts';
import { resolveClassifier, resolveGenerator } from '../src/models/registry.ts';
import { appendObjective } from '../src/optvis/objectives/build.ts';
import { composeModels } from '../src/onnx/compose.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { DISPLAY_INPUT } from '../src/classifier/card.ts';
import { loadModel } from '../src/onnx/prepare.ts';
import { encodeModel } from '../src/onnx/proto.ts';
import { twinPath } from '../src/twins/index.ts';
import { randomInput, TWIN_SEED } from './twins.ts';

function twinModel(name: 'googlenet' | 'fc6-generator'): Model {
  return loadModel(twinPath(name, { seed: TWIN_SEED }), { batch: 1 });
}

/** The fused program of a bench case and a feed for it. */
function benchProgram(which: string): { model: Model; feeds: Record<string, TensorData> } {
  if (which === 'a' || which === 'b') {
    const model = twinModel(which === 'a' ? 'googlenet' : 'fc6-generator');
    const obj = appendObjective(model, which === 'a' ? 'class:1' : 'deconv0');
    const prog = compileFused(obj.model, { outputs: [obj.scalar], wrt: [model.graph.inputs[0]!.name], seedOnes: true, extraOutputs: [obj.perItem] });
    return { model: prog.model, feeds: randomInput(model, which === 'a' ? 11 : 12, which === 'b') };
  }
  if (which === 'g') {
    const gen = twinModel('fc6-generator');
    const cls = twinModel('googlenet');
    const gc = resolveGenerator('twin:fc6-generator').card;
    const cc = resolveClassifier('twin:googlenet').card;
    const bridged = appendBridge(gen, gc.output, cc.input.size, gc.toClassifier);
    const whole = composeModels(bridged, withDisplayInput(cls, cc.input), { from: DGN_IMAGE, to: DISPLAY_INPUT });
    const obj = appendObjective(whole, 'class:1');
    const code = gen.graph.inputs[0]!.name;
    const prog = compileFused(obj.model, { outputs: [obj.scalar], wrt: [code], seedOnes: true, extraOutputs: [obj.perItem, DISPLAY_INPUT] });
    return { model: prog.model, feeds: randomInput(gen, 3) };
  }
  throw new Error(`unknown case '${which}' (a, b or g)`);
}

interface Event {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string; input_type_shape?: Record<string, number[]>[]; output_type_shape?: Record<string, number[]>[] };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const which = argv.find((a) => !a.startsWith('--')) ?? 'a';
  const opt = (k: string, d: number) => {
    const i = argv.indexOf(k);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  const runs = opt('--runs', 5);
  const top = opt('--top', 25);
  // --without NAME[,NAME]: compile without these graph rewrites (to see what each one buys).
  const without = argv.indexOf('--without') >= 0 ? argv[argv.indexOf('--without') + 1]!.split(',') : [];
  GRAPH_REWRITES.splice(0, GRAPH_REWRITES.length, ...GRAPH_REWRITES.filter((r) => !without.includes(r.name)));
  const { model, feeds } = benchProgram(which);
  const saveAt = argv.indexOf('--save');
  const bytes = encodeModel(model);
  if (saveAt >= 0) writeFileSync(argv[saveAt + 1]!, bytes);
  const prefix = `/tmp/fviz-profile-${which}-${process.pid}`;
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableProfiling: true,
    profileFilePrefix: prefix,
    logSeverityLevel: 3,
  });
  const f: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.dtype as 'float32', v.data as Float32Array, v.dims);
  const walls: number[] = [];
  for (let r = 0; r < runs + 1; r++) {
    const t0 = performance.now();
    await session.run(f);
    walls.push(performance.now() - t0);
  }
  session.endProfiling();
  await session.release();
  const dir = dirname(prefix);
  const found = readdirSync(dir).filter((n) => n.startsWith(basename(prefix)) && n.endsWith('.json'));
  if (found.length !== 1) throw new Error(`expected one profile file ${prefix}*.json, found ${found.length}`);
  const file = join(dir, found[0]!);
  const events = JSON.parse(readFileSync(file, 'utf8')) as Event[];
  rmSync(file);
  // Per node, the fastest of the profiled runs (the first is a warm-up): preemption by other load shows
  // up as outliers in single runs, and the minimum drops them.
  const nodes = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time'));
  const perNode = new Map<string, { op: string; durs: number[]; shapes: string }>();
  const dims = (l?: Record<string, number[]>[]) => (l ?? []).map((t) => `[${Object.values(t)[0]}]`).join(',');
  for (const e of nodes) {
    const n = e.name.replace(/_kernel_time$/, '');
    const cur = perNode.get(n) ?? { op: e.args?.op_name ?? '?', durs: [], shapes: `${dims(e.args?.input_type_shape)} -> ${dims(e.args?.output_type_shape)}` };
    cur.durs.push(e.dur);
    perNode.set(n, cur);
  }
  const minOf = (d: number[]) => Math.min(...(d.length > 1 ? d.slice(1) : d)) / 1000;
  const medianOf = (d: number[]) => {
    const s = (d.length > 1 ? d.slice(1) : d).slice().sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]! / 1000;
  };
  const byOp = new Map<string, { min: number; median: number; count: number }>();
  for (const v of perNode.values()) {
    const cur = byOp.get(v.op) ?? { min: 0, median: 0, count: 0 };
    cur.min += minOf(v.durs);
    cur.median += medianOf(v.durs);
    cur.count++;
    byOp.set(v.op, cur);
  }
  const total = [...byOp.values()].reduce((a, b) => a + b.min, 0);
  const totalMedian = [...byOp.values()].reduce((a, b) => a + b.median, 0);
  const sortedWalls = walls.slice(1).sort((a, b) => a - b);
  console.log(
    `case ${which}: wall ms best ${sortedWalls[0]!.toFixed(1)} median ${sortedWalls[Math.floor(sortedWalls.length / 2)]!.toFixed(1)}; ` +
      `kernel sum of per-node minima ${total.toFixed(1)} ms, of medians ${totalMedian.toFixed(1)} ms; ${perNode.size} kernels`,
  );
  for (const [op, v] of [...byOp].sort((a, b) => b[1].min - a[1].min))
    console.log(`  ${op.padEnd(22)} ${v.min.toFixed(2).padStart(8)} ms min  ${v.median.toFixed(2).padStart(8)} ms median  (${v.count})`);
  console.log(`top ${top} nodes (min over runs):`);
  for (const [n, v] of [...perNode].sort((a, b) => minOf(b[1].durs) - minOf(a[1].durs)).slice(0, top))
    console.log(`  ${minOf(v.durs).toFixed(2).padStart(8)} ms  ${v.op.padEnd(18)} ${n}  ${v.shapes}`);
}

await main();
