// Compile once, run many steps: an objective's value and its gradients, on onnxruntime.
import type { Model, TensorData, ValueInfo } from '../../onnx/ir.ts';
import { appendObjective, objectiveAst, objectiveMasks, type ObjectiveModel, type ObjectiveInput, type ObjectiveNames, type ResolvedTerm } from './build.ts';
import { openSession, type ProgramSession, type SessionOptions } from '../../runtime/session.ts';
import { compileFused, compileSplit, GRAD_PREFIX, type SplitProgram } from '../../autodiff/compile.ts';
import { decodeModel, encodeModel } from '../../onnx/proto.ts';
import { programCacheEnabled } from '../../runtime/program-cache.ts';
import { cachedSession, type BuiltProgram } from '../../runtime/cached-session.ts';
import { readResult, type GradientProgram, type ObjectiveResult, type ProgramMeta } from './program-run.ts';
import { FvizError } from '../../errors.ts';
import { createHash } from 'node:crypto';
import { rulesFingerprint } from '../../autodiff/rules/index.ts';

export interface ObjectiveGradientOptions extends SessionOptions {
  /** Text, a parsed tree or an Objective of the programmatic API (diversity included). */
  objective: ObjectiveInput;
  names?: ObjectiveNames;
  /** Values to differentiate with respect to (default: the model's first input). */
  wrt?: string[];
  /** Forward values to return as well. */
  extraOutputs?: string[];
  /** The linear terms' masks as inputs, so `retarget` can give the program another objective on the same tensors. */
  masksAsInputs?: boolean;
}

export type { ObjectiveResult, ProgramMeta, GradientProgram } from './program-run.ts';

/** What a program maker may give besides the model: forward values found while making it, and facts to keep. */
export interface ProgramModel {
  model: Model;
  /** Added to the options' extraOutputs. */
  extraOutputs?: string[];
  /** Kept with the program (also in the cache) and given back as `ObjectiveGradient.extra`. */
  extra?: Record<string, unknown>;
  /** The objective, when making the model found it (replaces the options' objective). */
  objective?: ObjectiveInput;
}

export interface CachedObjectiveOptions extends ObjectiveGradientOptions {
  /** The program cache's key (runtime/program-cache.ts programKey: everything the model and objective come from); none: no caching. */
  cacheKey?: string;
  /** What `fviz cache ls` shows for the entry. */
  cacheLabel?: string;
}

type MaskInput = NonNullable<ObjectiveModel['maskInputs']>[number];

interface Compiled {
  model: Model;
  bytes: Uint8Array;
  meta: ProgramMeta;
  gradWeights: Map<string, TensorData>;
  /**
   * With masksAsInputs: the mask inputs (each with the tensor it multiplies and its value, fed every run), the
   * model the objective was appended to, and whether `retarget` may change them (only channel, neuron and class
   * terms: a layer term or diversity is compiled into the graph).
   */
  masked?: { inputs: MaskInput[]; source: Model; names?: ObjectiveNames; retargetable: boolean };
}

function compileObjective(model: Model, opts: ObjectiveGradientOptions): Compiled {
  const obj = appendObjective(model, opts.objective, opts.names, { masksAsInputs: opts.masksAsInputs });
  const wrt = opts.wrt ?? [model.graph.inputs[0]!.name];
  const prog = compileFused(obj.model, {
    outputs: [obj.scalar],
    wrt,
    seedOnes: true,
    extraOutputs: [obj.perItem, ...(opts.extraOutputs ?? [])],
  });
  const meta: ProgramMeta = { terms: obj.terms, wrt, gradNames: [...prog.gradNames], scalar: obj.scalar, inputs: prog.model.graph.inputs };
  const compiled: Compiled = { model: prog.model, bytes: encodeModel(prog.model), meta, gradWeights: prog.weights };
  if (obj.maskInputs) {
    const linearOnly = !objectiveAst(opts.objective).diversity?.length && obj.terms.every((t) => t.target.kind !== 'layer');
    compiled.masked = { inputs: obj.maskInputs, source: model, names: opts.names, retargetable: linearOnly };
  }
  return compiled;
}

/** The mask inputs of `objective` when its masks fall on the same tensors, with the same shapes, as `now`; else undefined. */
function sameMaskInputs(m: NonNullable<Compiled['masked']>, objective: ObjectiveInput): { inputs: MaskInput[]; terms: ResolvedTerm[] } | undefined {
  const next = objectiveMasks(m.source, objective, m.names);
  if (!next.linearOnly || next.masks.length !== m.inputs.length) return undefined;
  const inputs: MaskInput[] = [];
  for (const [k, { tensor, mask }] of next.masks.entries()) {
    const now = m.inputs[k]!;
    if (tensor !== now.tensor || mask.dtype !== now.mask.dtype || mask.dims.join() !== now.mask.dims.join()) return undefined;
    inputs.push({ ...now, mask });
  }
  return { inputs, terms: next.terms };
}

/** A compiled program for an objective on a prepared model (static shapes, batch fixed). */
export class ObjectiveGradient implements GradientProgram {
  terms: ResolvedTerm[];
  readonly inputs: ValueInfo[];
  readonly wrt: string[];
  readonly weights: Map<string, TensorData>;
  private readonly session: ProgramSession;
  private readonly gradNames: Map<string, string>;
  private readonly scalar: string;
  private compiledModel: Model | undefined;
  private readonly bytes: Uint8Array | undefined;
  /** What the maker kept with the program (ProgramModel.extra); empty for create. */
  readonly extra: Record<string, unknown>;
  /** How the program came: compiled here ('uncached'), compiled and stored ('stored'), or loaded ('hit'). */
  readonly via: 'hit' | 'stored' | 'uncached';
  private readonly masked: Compiled['masked'];

  private constructor(session: ProgramSession, meta: ProgramMeta, via: ObjectiveGradient['via'], compiled?: Partial<Compiled>) {
    this.session = session;
    this.terms = meta.terms;
    this.wrt = meta.wrt;
    this.gradNames = new Map(meta.gradNames);
    this.scalar = meta.scalar;
    this.inputs = meta.inputs;
    this.extra = meta.extra ?? {};
    this.via = via;
    this.compiledModel = compiled?.model;
    this.bytes = compiled?.bytes;
    this.weights = compiled?.gradWeights ?? new Map();
    this.masked = compiled?.masked;
  }

  /**
   * Gives a program compiled with masksAsInputs another objective whose masks fall on the same tensors, with
   * the same shapes (only channel, neuron and class terms): no compile, the next run maximizes it. False when
   * they do not, or the program has no mask inputs (compile a new one then).
   */
  retarget(objective: ObjectiveInput): boolean {
    const m = this.masked;
    if (!m?.retargetable) return false;
    const next = sameMaskInputs(m, objective);
    if (!next) return false;
    m.inputs = next.inputs;
    this.terms = next.terms;
    return true;
  }

  /** The compiled graph (not kept by a program loaded from the cache: onnxruntime holds its optimized form only). */
  get model(): Model {
    if (!this.compiledModel && !this.bytes) throw new FvizError('this program was loaded from the program cache and has no compiled graph in memory: create it with FVIZ_CACHE=off to inspect it');
    this.compiledModel ??= decodeModel(this.bytes!);
    return this.compiledModel;
  }

  /** Compiles the program (no cache); `opts.createSession` loads it into another runtime than onnxruntime-node. */
  static async create(model: Model, opts: ObjectiveGradientOptions): Promise<ObjectiveGradient> {
    const c = compileObjective(model, opts);
    const session = await openSession(c.bytes, opts);
    return new ObjectiveGradient(session, c.meta, 'uncached', c);
  }

  /**
   * The compiled bytes and what running them needs (ProgramMeta): what the live page loads into onnxruntime-web.
   * Undefined for a program loaded from the program cache (onnxruntime holds only its optimized form; compile
   * with `create` or without a cacheKey to have them) and for one that lifted weights out of the graph (their
   * values would have to travel as well), and for one compiled with masksAsInputs (the page feeds no masks).
   */
  compiledEntry(): BuiltProgram | undefined {
    if (!this.bytes || this.weights.size > 0 || this.masked) return undefined;
    const meta: ProgramMeta = { terms: this.terms, wrt: this.wrt, gradNames: [...this.gradNames], scalar: this.scalar, inputs: this.inputs };
    if (Object.keys(this.extra).length) meta.extra = this.extra;
    return { bytes: this.bytes, meta: meta as unknown as Record<string, unknown> };
  }

  /**
   * The program through the program cache: loaded when `cacheKey` is stored, else compiled from `model()` (called
   * only then, so a hit skips preparing the model too), stored and loaded. A program that lifted weights (their
   * values would have to be stored as well), a call without a key, or one with `createSession` (the cache holds
   * onnxruntime-node's optimized graph, which another runtime cannot load) compiles without the cache.
   */
  static async load(model: () => Model | ProgramModel | Promise<Model | ProgramModel>, opts: CachedObjectiveOptions): Promise<ObjectiveGradient> {
    const make = async (): Promise<{ model: Model; opts: ObjectiveGradientOptions; extra?: Record<string, unknown> }> => {
      const m = await model();
      if (!('model' in m && 'graph' in m.model)) return { model: m as Model, opts };
      const pm = m as ProgramModel;
      const extraOutputs = [...(opts.extraOutputs ?? []), ...(pm.extraOutputs ?? [])];
      return { model: pm.model, opts: { ...opts, extraOutputs, objective: pm.objective ?? opts.objective }, extra: pm.extra };
    };
    const compile = async (): Promise<Compiled> => {
      const m = await make();
      const c = compileObjective(m.model, m.opts);
      if (m.extra) c.meta.extra = m.extra;
      return c;
    };
    // A program with mask inputs keeps the model it came from (retarget), which a cache hit does not load.
    if (!opts.cacheKey || !programCacheEnabled() || opts.createSession || opts.masksAsInputs) {
      const c = await compile();
      return new ObjectiveGradient(await openSession(c.bytes, opts), c.meta, 'uncached', c);
    }
    let compiled: Compiled | undefined;
    // The rules in force and the device (onnxruntime optimizes for its execution provider) complete the caller's key.
    const key = createHash('sha256').update(opts.cacheKey).update(`\0${opts.device ?? 'cpu'}\0`).update(rulesFingerprint()).digest('hex');
    const got = await cachedSession(
      key,
      opts.cacheLabel ?? 'program',
      async () => {
        compiled = await compile();
        return { bytes: compiled.bytes, meta: compiled.meta as unknown as Record<string, unknown> };
      },
      opts,
      () => compiled === undefined || compiled.gradWeights.size === 0,
    );
    return new ObjectiveGradient(got.session, got.meta as unknown as ProgramMeta, got.via, compiled);
  }

  async run(feeds: Record<string, TensorData>): Promise<ObjectiveResult> {
    const all = this.masked ? { ...Object.fromEntries(this.masked.inputs.map((i) => [i.input, i.mask])), ...feeds } : feeds;
    return readResult(await this.session.run(all), this.gradNames, this.scalar);
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
