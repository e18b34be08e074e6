// Running a compiled objective program, apart from how it was compiled: its serialized bytes, what its
// outputs mean (ProgramMeta) and a session of any runtime. ObjectiveGradient (Node: compiles, or loads from
// the program cache) and the live page (onnxruntime-web, bytes served by `fviz serve`) both read results
// through this file. It loads no compiler and no Node module.
import type { TensorData, ValueInfo } from '../../onnx/ir.ts';
import { toNumbers } from '../../onnx/tensor.ts';
import type { ProgramSession, SessionFactory } from '../../runtime/program-session.ts';
import type { ResolvedTerm } from './build.ts';

export interface ObjectiveResult {
  /** The differentiated scalar: the objective summed over the batch, plus any diversity terms. */
  value: number;
  /** The objective of each batch item. */
  perItem: number[];
  /** d objective / d each wrt value. */
  grads: Map<string, TensorData>;
  outputs: Record<string, TensorData>;
}

/** What running a compiled program's bytes needs besides them (stored in the program cache, served to the page). */
export interface ProgramMeta {
  terms: ResolvedTerm[];
  wrt: string[];
  gradNames: [string, string][];
  scalar: string;
  inputs: ValueInfo[];
  /** The maker's own facts about the program (ObjectiveGradient.load's ProgramModel.extra), stored with it. */
  extra?: Record<string, unknown>;
}

/** What the render loop needs of a compiled objective: feeds in, the objective and its gradients out. */
export interface GradientProgram {
  run(feeds: Record<string, TensorData>): Promise<ObjectiveResult>;
  release(): Promise<void>;
}

/** A session's raw outputs read as the objective, its value per item and the gradients by wrt name. */
export function readResult(out: Record<string, TensorData>, gradNames: ReadonlyMap<string, string>, scalar: string): ObjectiveResult {
  const grads = new Map<string, TensorData>();
  for (const [w, name] of gradNames) grads.set(w, out[name]!);
  return { value: toNumbers(out[scalar]!)[0]!, perItem: toNumbers(out['objective_per_item']!), grads, outputs: out };
}

/** A compiled program's bytes loaded by a session factory (onnxruntime-web in the page). */
export class ProgramRunner implements GradientProgram {
  private readonly gradNames: Map<string, string>;
  private constructor(
    private readonly session: ProgramSession,
    readonly meta: ProgramMeta,
  ) {
    this.gradNames = new Map(meta.gradNames);
  }

  static async open(bytes: Uint8Array, meta: ProgramMeta, createSession: SessionFactory, opts: { source?: string; threads?: number } = {}): Promise<ProgramRunner> {
    return new ProgramRunner(await createSession(bytes, opts), meta);
  }

  get terms(): ResolvedTerm[] {
    return this.meta.terms;
  }

  async run(feeds: Record<string, TensorData>): Promise<ObjectiveResult> {
    return readResult(await this.session.run(feeds), this.gradNames, this.meta.scalar);
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
