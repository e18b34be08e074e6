// Why the live page's DGN-AM frames part from Node's after a few steps, measured two ways on the embedded
// pair (class:cat, seed 3, the card's settings, one thread each side):
// 1. Node against Node, the initial code changed by a relative 1e-7 or 1e-6: how fast the run amplifies a
//    float32-sized difference (the loop's own JavaScript is the same in both runtimes).
// 2. Node's code at each step of its run evaluated by onnxruntime-node and by onnxruntime-web in Chromium:
//    what the kernels alone differ by at each step, with the same input.
// Usage: node bin/run-ts.js scripts/live-divergence.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serveLive } from '../src/live/server.ts';
import { nodeSessions } from '../src/live/reference.ts';
import { dgnOptionsFor, type LiveSettings } from '../src/live/run-options.ts';
import { ProgramRunner } from '../src/optvis/objectives/program-run.ts';
import { fusedCodeProgram, initialCode } from '../src/optvis/param/code.ts';
import { runDgnAm } from '../src/optvis/render/dgn.ts';

const server = await serveLive({ port: 0 });
const info = server.programs.info();
const prog = await server.programs.program({ method: 'dgn', objective: 'class:cat' });
const s: LiveSettings = { method: 'dgn', objective: 'class:cat', seed: 3, steps: 20, stepSize: 0.25, codeL2: 0.99, noise: 0, jitter: 0, l2: 0, tv: 0, eps1: 1, eps2: 2, eps3: 3 };
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
};
const fmt = (xs: number[]) => xs.map((v) => v.toExponential(1)).join(' ');

/** Node's run from the seed's code times (1 +- perturb): the image and the code at each step. */
async function nodeRun(perturb: number) {
  const runner = await ProgramRunner.open(prog.data, prog.meta, nodeSessions, { threads: 1 });
  const inner = fusedCodeProgram(runner, prog.codeInput!, prog.codeShape!);
  const images: Float32Array[] = [];
  const codes: Float32Array[] = [];
  const o = dgnOptionsFor(info, () => s);
  const code = initialCode(prog.codeShape!, o);
  for (let k = 0; k < code.length; k++) code[k] = code[k]! * (1 + perturb * (k % 2 ? 1 : -1));
  const watched = {
    codeShape: inner.codeShape,
    async run(c: Float32Array) {
      codes.push(c.slice());
      const r = await inner.run(c);
      images.push((r.image.data as Float32Array).slice());
      return r;
    },
  };
  await runDgnAm(watched, { ...o, init: code });
  return { images, codes, runner, inner };
}

const base = await nodeRun(0);
console.log('1. Node vs Node, max |image difference| per step 0..20, initial code perturbed by a relative:');
for (const eps of [1e-7, 1e-6]) {
  const b = await nodeRun(eps);
  await b.runner.release();
  console.log(`   ${eps.toExponential(0)}: ${fmt(base.images.map((im, i) => maxDiff(im, b.images[i]!)))}`);
}

const profile = mkdtempSync(join(tmpdir(), 'fviz-diverge-'));
const browser = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}?threads=1`);
  const img: number[] = [];
  const grad: number[] = [];
  const obj: number[] = [];
  for (const code of base.codes) {
    const web = await page.evaluate(
      async ([c]) => {
        const live = await (globalThis as unknown as { fvizLive: Promise<{ evaluate(m: string, o: string, v: number[]): Promise<{ perItem: number[]; grad: number[]; image: number[] }> }> }).fvizLive;
        return live.evaluate('dgn', 'class:cat', c);
      },
      [Array.from(code)] as const,
    );
    const node = await base.inner.run(code);
    const g = node.grad;
    const meanAbs = g.reduce((a, v) => a + Math.abs(v), 0) / g.length;
    img.push(maxDiff(node.image.data as Float32Array, web.image));
    grad.push(maxDiff(g, web.grad) / meanAbs);
    obj.push(Math.abs(node.perItem[0]! - web.perItem[0]!));
  }
  console.log("2. Node's code at each step 0..20, evaluated by onnxruntime-node and onnxruntime-web (the kernels alone):");
  console.log(`   max |image difference|:               ${fmt(img)}`);
  console.log(`   max |gradient difference| / mean|g|:  ${fmt(grad)}`);
  console.log(`   |objective difference|:               ${fmt(obj)}`);
} finally {
  await browser.close();
  await base.runner.release();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
