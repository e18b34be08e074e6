// Compile once, run many steps: an objective's value and its gradients, on onnxruntime.
import type { Model, TensorData, ValueInfo } from '../../onnx/ir.ts';
import { appendObjective, type ObjectiveInput, type ObjectiveNames, type ResolvedTerm } from './build.ts';
import { openSession, type ProgramSession, type SessionOptions } from '../../runtime/session.ts';
import { compileFused, compileSplit, GRAD_PREFIX, type SplitProgram } from '../../autodiff/compile.ts';
import { decodeModel, encodeModel } from '../../onnx/proto.ts';
import type { CachedProgram } from '../../runtime/program-cache.ts';
import { readResult, type GradientProgram, type ObjectiveResult, type ProgramMeta } from './program-run.ts';

export type { ObjectiveResult, ProgramMeta, GradientProgram } from './program-run.ts';

export interface ObjectiveGradientOptions extends SessionOptions {
  /** Text, a parsed tree or an Objective of the programmatic API (diversity included). */
  objective: ObjectiveInput;
  names?: ObjectiveNames;
  /** Values to differentiate with respect to (default: the model's first input). */
  wrt?: string[];
  /** Forward values to return as well. */
  extraOutputs?: string[];
}

/** A compiled program for an objective on a prepared model (static shapes, batch fixed). */
export class ObjectiveGradient implements GradientProgram {
  readonly terms: ResolvedTerm[];
  readonly inputs: ValueInfo[];
  readonly wrt: string[];
  readonly weights: Map<string, TensorData>;
  private readonly session: ProgramSession;
  private readonly gradNames: Map<string, string>;
  private compiledModel: Model | undefined;
  /** The compiled program's bytes, kept when the program is to be cached (create's keepBytes) or came from the cache. */
  private readonly bytes: Uint8Array | undefined;

  private constructor(
    model: Model | undefined,
    bytes: Uint8Array | undefined,
    session: ProgramSession,
    terms: ResolvedTerm[],
    wrt: string[],
    gradNames: Map<string, string>,
    weights: Map<string, TensorData>,
    private readonly scalar: string,
    inputs: ValueInfo[],
  ) {
    this.compiledModel = model;
    this.bytes = bytes;
    this.session = session;
    this.terms = terms;
    this.wrt = wrt;
    this.gradNames = gradNames;
    this.inputs = model ? model.graph.inputs : inputs;
    this.weights = weights;
  }

  /** The compiled graph (decoded on first use when the program came from the cache). */
  get model(): Model {
    this.compiledModel ??= decodeModel(this.bytes!);
    return this.compiledModel;
  }

  /** Compiles the program; `keepBytes` keeps its serialized form for `cacheEntry()`. */
  static async create(model: Model, opts: ObjectiveGradientOptions & { keepBytes?: boolean }): Promise<ObjectiveGradient> {
    const obj = appendObjective(model, opts.objective, opts.names);
    const wrt = opts.wrt ?? [model.graph.inputs[0]!.name];
    const scalar = obj.scalar;
    const prog = compileFused(obj.model, {
      outputs: [scalar],
      wrt,
      seedOnes: true,
      extraOutputs: [obj.perItem, ...(opts.extraOutputs ?? [])],
    });
    const bytes = encodeModel(prog.model);
    const session = await openSession(bytes, opts);
    const keep = opts.keepBytes && prog.weights.size === 0 ? bytes : undefined;
    return new ObjectiveGradient(prog.model, keep, session, obj.terms, wrt, prog.gradNames, prog.weights, scalar, prog.model.graph.inputs);
  }

  /**
   * What the program cache stores: the compiled bytes and what running them needs. Undefined when the bytes
   * were not kept, or when the program lifted weights (their values would have to be stored as well).
   */
  cacheEntry(): CachedProgram | undefined {
    if (!this.bytes) return undefined;
    const meta: ProgramMeta = { terms: this.terms, wrt: this.wrt, gradNames: [...this.gradNames], scalar: this.scalar, inputs: this.inputs };
    return { bytes: this.bytes, meta: meta as unknown as Record<string, unknown> };
  }

  /** A program from the cache: onnxruntime loads the stored graph; nothing is prepared or compiled. */
  static async fromCache(entry: CachedProgram, opts: SessionOptions = {}): Promise<ObjectiveGradient> {
    const m = entry.meta as unknown as ProgramMeta;
    const session = await openSession(entry.bytes, opts);
    return new ObjectiveGradient(undefined, entry.bytes, session, m.terms, m.wrt, new Map(m.gradNames), new Map(), m.scalar, m.inputs);
  }

  async run(feeds: Record<string, TensorData>): Promise<ObjectiveResult> {
    return readResult(await this.session.run(feeds), this.gradNames, this.scalar);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * A vector-Jacobian product program for chaining: forward(inputs) -> outputs (+ saved tensors), then
 * backward(saved, upstream gradients of the outputs) -> gradients of the wrt values.
 */
export class Vjp {
  readonly split: SplitProgram;
  private readonly fwd: ProgramSession;
  private readonly bwd: ProgramSession;
  readonly outputs: string[];
  readonly wrt: string[];

  private constructor(split: SplitProgram, fwd: ProgramSession, bwd: ProgramSession, outputs: string[], wrt: string[]) {
    this.split = split;
    this.fwd = fwd;
    this.bwd = bwd;
    this.outputs = outputs;
    this.wrt = wrt;
  }

  static async create(model: Model, outputs: string[], wrt: string[], opts: SessionOptions = {}): Promise<Vjp> {
    const split = compileSplit(model, { outputs, wrt });
    const fwd = await openSession(split.forward, opts);
    const bwd = await openSession(split.backward, opts);
    return new Vjp(split, fwd, bwd, outputs, wrt);
  }

  /** Runs the forward; keep the returned state for `backward`. */
  async forward(feeds: Record<string, TensorData>): Promise<{ outputs: Record<string, TensorData>; state: Record<string, TensorData> }> {
    const out = await this.fwd.run(feeds);
    const state: Record<string, TensorData> = {};
    for (const s of this.split.saved) state[s] = out[s] ?? feeds[s]!;
    return { outputs: out, state };
  }

  async backward(state: Record<string, TensorData>, upstream: Record<string, TensorData>): Promise<Map<string, TensorData>> {
    const feeds: Record<string, TensorData> = { ...state };
    for (const o of this.outputs) feeds[`${GRAD_PREFIX}${o}`] = upstream[o]!;
    const out = await this.bwd.run(feeds);
    const grads = new Map<string, TensorData>();
    for (const [w, name] of this.split.gradNames) grads.set(w, out[name]!);
    return grads;
  }

  async release(): Promise<void> {
    await this.fwd.release();
    await this.bwd.release();
  }
}
