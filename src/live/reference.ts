// The live page's runs repeated in Node: the same served program bytes on onnxruntime-node, through the
// same loops and options (run-options.ts): DGN-AM and PPGN-h. Tests compare the page's frames with these; the bench times both.
import { ProgramRunner } from '../optvis/objectives/program-run.ts';
import { fusedCodeProgram } from '../optvis/param/code.ts';
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

/** DGN-AM on `program` in Node with the page's settings. */
export async function nodeDgnRun(program: CompiledProgram, info: LiveInfo, settings: LiveSettings, opts: { threads?: number; keepFrames?: number } = {}): Promise<NodeDgnRun> {
  const runner = await ProgramRunner.open(program.data, program.meta, nodeSessions, { threads: opts.threads ?? 1 });
  const inner = fusedCodeProgram(runner, program.codeInput!, program.codeShape!);
  const frames: Float32Array[] = [];
  const stepMs: number[] = [];
  let last = 0;
  const watched = {
    codeShape: inner.codeShape,
    async run(code: Float32Array) {
      const r = await inner.run(code);
      const now = performance.now();
      if (last) stepMs.push(now - last);
      last = now;
      if (frames.length < (opts.keepFrames ?? 0)) frames.push((r.image.data as Float32Array).slice());
      return r;
    },
  };
  try {
    const res = await runDgnAm(watched, dgnOptionsFor(info, () => settings));
    return { history: res.history, frames, stepMs };
  } finally {
    await runner.release();
  }
}

/** PPGN-h on `program` (a served 'ppgn' program) in Node with the page's settings: log p per step and the first frames. */
export async function nodePpgnRun(program: CompiledProgram, info: LiveInfo, settings: LiveSettings, opts: { threads?: number; keepFrames?: number } = {}): Promise<NodeDgnRun> {
  const runner = await ProgramRunner.open(program.data, program.meta, nodeSessions, { threads: opts.threads ?? 1 });
  const inner = fusedPpgnProgram(runner, program.codeInput!, program.codeShape!, program.codeTensor!);
  const frames: Float32Array[] = [];
  const stepMs: number[] = [];
  let last = 0;
  const watched = {
    codeShape: inner.codeShape,
    async run(code: Float32Array) {
      const r = await inner.run(code);
      const now = performance.now();
      if (last) stepMs.push(now - last);
      last = now;
      if (frames.length < (opts.keepFrames ?? 0)) frames.push(r.image.data.slice());
      return r;
    },
  };
  try {
    const res = await runPpgn(watched, ppgnOptionsFor(info, () => settings));
    return { history: res.history, frames, stepMs };
  } finally {
    await runner.release();
  }
}
