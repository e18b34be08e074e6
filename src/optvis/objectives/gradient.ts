// Compile once, run many steps: an objective's value and its gradients, on onnxruntime.
import type { Model, TensorData, ValueInfo } from '../../onnx/ir.ts';
import { appendObjective, type ObjectiveInput, type ObjectiveNames, type ResolvedTerm } from './build.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';
import { compileFused, compileSplit, GRAD_PREFIX, type SplitProgram } from '../../autodiff/compile.ts';
import { toNumbers } from '../../onnx/tensor.ts';

export interface ObjectiveGradientOptions extends SessionOptions {
  /** Text, a parsed tree or an Objective of the programmatic API (diversity included). */
  objective: ObjectiveInput;
  names?: ObjectiveNames;
  /** Values to differentiate with respect to (default: the model's first input). */
  wrt?: string[];
  /** Forward values to return as well. */
  extraOutputs?: string[];
}

export interface ObjectiveResult {
  /** The differentiated scalar: the objective summed over the batch, plus any diversity terms. */
  value: number;
  /** The objective of each batch item. */
  perItem: number[];
  /** d objective / d each wrt value. */
  grads: Map<string, TensorData>;
  outputs: Record<string, TensorData>;
}

/** A compiled program for an objective on a prepared model (static shapes, batch fixed). */
export class ObjectiveGradient {
  readonly model: Model;
  readonly terms: ResolvedTerm[];
  readonly inputs: ValueInfo[];
  readonly wrt: string[];
  readonly weights: Map<string, TensorData>;
  private readonly session: Session;
  private readonly gradNames: Map<string, string>;

  private constructor(
    model: Model,
    session: Session,
    terms: ResolvedTerm[],
    wrt: string[],
    gradNames: Map<string, string>,
    weights: Map<string, TensorData>,
    private readonly scalar: string,
  ) {
    this.model = model;
    this.session = session;
    this.terms = terms;
    this.wrt = wrt;
    this.gradNames = gradNames;
    this.inputs = model.graph.inputs;
    this.weights = weights;
  }

  static async create(model: Model, opts: ObjectiveGradientOptions): Promise<ObjectiveGradient> {
    const obj = appendObjective(model, opts.objective, opts.names);
    const wrt = opts.wrt ?? [model.graph.inputs[0]!.name];
    const scalar = obj.scalar;
    const prog = compileFused(obj.model, {
      outputs: [scalar],
      wrt,
      seedOnes: true,
      extraOutputs: [obj.perItem, ...(opts.extraOutputs ?? [])],
    });
    const session = await Session.create(prog.model, opts);
    return new ObjectiveGradient(prog.model, session, obj.terms, wrt, prog.gradNames, prog.weights, scalar);
  }

  async run(feeds: Record<string, TensorData>): Promise<ObjectiveResult> {
    const out = await this.session.run(feeds);
    const grads = new Map<string, TensorData>();
    for (const [w, name] of this.gradNames) grads.set(w, out[name]!);
    return {
      value: toNumbers(out[this.scalar]!)[0]!,
      perItem: toNumbers(out['objective_per_item']!),
      grads,
      outputs: out,
    };
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
  private readonly fwd: Session;
  private readonly bwd: Session;
  readonly outputs: string[];
  readonly wrt: string[];

  private constructor(split: SplitProgram, fwd: Session, bwd: Session, outputs: string[], wrt: string[]) {
    this.split = split;
    this.fwd = fwd;
    this.bwd = bwd;
    this.outputs = outputs;
    this.wrt = wrt;
  }

  static async create(model: Model, outputs: string[], wrt: string[], opts: SessionOptions = {}): Promise<Vjp> {
    const split = compileSplit(model, { outputs, wrt });
    const fwd = await Session.create(split.forward, opts);
    const bwd = await Session.create(split.backward, opts);
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
