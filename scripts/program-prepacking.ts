// Whether stored programs should be loaded with onnxruntime's weight pre-packing off: builds the twins' DGN-AM
// program into a fresh cache, then loads the stored optimized graph twice (pre-packing on, off), times each
// session's creation and interleaved runs of the program. Usage: node bin/run-ts.js scripts/program-prepacking.ts
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { visualizeDgn } from '../src/optvis/render/visualize.ts';
import { openProgram } from '../src/runtime/program-cache.ts';
import { Session } from '../src/runtime/session.ts';
import type { TensorData, ValueInfo } from '../src/onnx/ir.ts';

const dir = mkdtempSync(join(tmpdir(), 'fviz-prepack-'));
process.env['FVIZ_CACHE'] = join(dir, 'cache');
try {
  await visualizeDgn({ model: 'twin:googlenet', generator: 'twin:fc6-generator', objective: 'class:3', out: join(dir, 'run'), steps: 1, frames: [] });
  const key = readdirSync(join(dir, 'cache')).find((n) => /^[0-9a-f]{64}$/.test(n))!;
  const entry = openProgram(key, join(dir, 'cache'))!;
  await entry.verified;
  const graph = join(entry.dir, 'program.onnx');
  const feeds: Record<string, TensorData> = {};
  for (const i of entry.meta['inputs'] as ValueInfo[]) {
    const shape = i.shape as number[];
    feeds[i.name] = { dtype: 'float32', dims: shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.1) };
  }
  const variants = { prepacked: true, 'not prepacked': false };
  const sessions: Record<string, Session> = {};
  const createMs: Record<string, number> = {};
  for (const [name, prepacking] of Object.entries(variants)) {
    const t = performance.now();
    sessions[name] = await Session.create(graph, { optimization: 'disabled', prepacking });
    createMs[name] = performance.now() - t;
  }
  const runs: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
  for (let k = 0; k < 14; k++)
    for (const name of Object.keys(variants)) {
      const t = performance.now();
      await sessions[name]!.run(feeds);
      runs[name]!.push(performance.now() - t);
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  for (const name of Object.keys(variants))
    console.log(JSON.stringify({ variant: name, create_ms: Math.round(createMs[name]!), run_median_ms: Math.round(median(runs[name]!.slice(2))), run_min_ms: Math.round(Math.min(...runs[name]!)) }));
  for (const s of Object.values(sessions)) await s.release();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
