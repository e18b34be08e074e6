// The live page's runs repeated in Node: the same served program bytes on onnxruntime-node, through the
// same loops and options (run-options.ts): DGN-AM and PPGN-h. Tests compare the page's frames with these; the bench times both.
import { ProgramRunner } from '../optvis/objectives/program-run.ts';
import { fusedCodeProgram, watchCode } from '../optvis/param/code.ts';
import { runDgnAm } from '../optvis/render/dgn.ts';
import { fusedPpgnProgram } from '../optvis/param/ppgn-step.ts';
import { runPpgn } from '../optvis/render/ppgn.ts';
import { Session } from '../runtime/session.ts';
import type { SessionFactory } from '../runtime/program-session.ts';
import type { CompiledProgram } from './programs.ts';
import type { LiveInfo } from './protocol.ts';
import { dgnOptionsFor, ppgnOptionsFor, type LiveSettings } from './run-options.ts';

export const nodeSessions: SessionFactory = (bytes, opts) => Session.create(bytes, { ...opts, source: opts.source ?? 'live program' });

export interface NodeDgnRun {
  history: number[][];
  /** The generated image at steps 0..keepFrames-1. */
  frames: Float32Array[];
  /** Milliseconds of each step after the first (program run plus the update). */
  stepMs: number[];
}

type RunOpts = { threads?: number; keepFrames?: number };

/** Opens the served bytes on onnxruntime-node and runs `loop` on the code program `wrap` makes, keeping frames and step times. */
async function nodeCodeRun<E extends { image: { data: unknown } }>(
  program: CompiledProgram,
  opts: RunOpts,
  wrap: (runner: ProgramRunner) => { readonly codeShape: number[]; run(code: Float32Array): Promise<E> },
  loop: (watched: { readonly codeShape: number[]; run(code: Float32Array): Promise<E> }) => Promise<{ history: number[][] }>,
): Promise<NodeDgnRun> {
  const runner = await ProgramRunner.open(program.data, program.meta, nodeSessions, { threads: opts.threads ?? 1 });
  const frames: Float32Array[] = [];
  const stepMs: number[] = [];
  let last = 0;
  const watched = watchCode(wrap(runner), (r) => {
    const now = performance.now();
    if (last) stepMs.push(now - last);
    last = now;
    if (frames.length < (opts.keepFrames ?? 0)) frames.push((r.image.data as Float32Array).slice());
  });
  try {
    const res = await loop(watched);
    return { history: res.history, frames, stepMs };
  } finally {
    await runner.release();
  }
}

/** DGN-AM on `program` in Node with the page's settings. */
export function nodeDgnRun(program: CompiledProgram, info: LiveInfo, settings: LiveSettings, opts: RunOpts = {}): Promise<NodeDgnRun> {
  return nodeCodeRun(
    program,
    opts,
    (runner) => fusedCodeProgram(runner, program.codeInput!, program.codeShape!),
    (watched) => runDgnAm(watched, dgnOptionsFor(info, () => settings)),
  );
}

/** PPGN-h on `program` (a served 'ppgn' program) in Node with the page's settings: log p per step and the first frames. */
export function nodePpgnRun(program: CompiledProgram, info: LiveInfo, settings: LiveSettings, opts: RunOpts = {}): Promise<NodeDgnRun> {
  return nodeCodeRun(
    program,
    opts,
    (runner) => fusedPpgnProgram(runner, program.codeInput!, program.codeShape!, program.codeTensor!),
    (watched) => runPpgn(watched, ppgnOptionsFor(info, () => settings)),
  );
}
