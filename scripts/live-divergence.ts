// How fast does DGN-AM on the embedded pair amplify a tiny difference? Node against Node, the initial
// code perturbed by a relative 1e-6 (about what wasm and native kernels differ by at step 0).
import { LivePrograms } from '../src/live/programs.ts';
import { nodeSessions } from '../src/live/reference.ts';
import { dgnOptionsFor } from '../src/live/run-options.ts';
import { ProgramRunner } from '../src/optvis/objectives/program-run.ts';
import { fusedCodeProgram, initialCode } from '../src/optvis/param/code.ts';
import { runDgnAm } from '../src/optvis/render/dgn.ts';
const p = new LivePrograms();
const info = p.info();
const prog = await p.program({ method: 'dgn', objective: 'class:cat' });
const s = { method: 'dgn', objective: 'class:cat', seed: 3, steps: 20, stepSize: 0.25, codeL2: 0.99, noise: 0, jitter: 0, l2: 0, tv: 0 };
async function frames(perturb: number) {
  const runner = await ProgramRunner.open(prog.data, prog.meta, nodeSessions, { threads: 1 });
  const inner = fusedCodeProgram(runner, prog.codeInput!, prog.codeShape!);
  const out: Float32Array[] = [];
  const o = dgnOptionsFor(info, () => s);
  const code = initialCode(prog.codeShape!, o);
  for (let k = 0; k < code.length; k++) code[k] = code[k]! * (1 + perturb * (k % 2 ? 1 : -1));
  await runDgnAm({ codeShape: inner.codeShape, run: async (c) => { const r = await inner.run(c); out.push((r.image.data as Float32Array).slice()); return r; } }, { ...o, init: code });
  await runner.release();
  return out;
}
const a = await frames(0);
for (const eps of [1e-7, 1e-6]) {
  const b = await frames(eps);
  console.log(`relative ${eps}:`, a.map((f, i) => f.reduce((m, v, k) => Math.max(m, Math.abs(v - b[i]![k]!)), 0).toExponential(1)).join(' '));
}
