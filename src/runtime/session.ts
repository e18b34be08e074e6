// A thin layer over onnxruntime-node: sessions from an IR model in memory, typed tensors in and out.
import * as ort from 'onnxruntime-node';
import { FvizError } from '../errors.ts';
import type { Model, TensorData } from '../onnx/ir.ts';
import { encodeModel } from '../onnx/proto.ts';
import { explainRunError } from './ort-errors.ts';
import type { ProgramSession, SessionFactory } from './program-session.ts';

export type { ProgramSession, SessionFactory } from './program-session.ts';

export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads; default: all cores (2 on the reference machine). */
  threads?: number;
  /** Name used in error messages. */
  source?: string;
  /** onnxruntime graph optimizations (default 'all'). */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Load programs with this instead of onnxruntime-node (the live page: onnxruntime-web). */
  createSession?: SessionFactory;
}

export type Feeds = Record<string, TensorData>;

/** How the program cache creates sessions (runtime/cached-session.ts); not for callers' options. */
export interface StoredSessionOptions {
  /** Write onnxruntime's optimized graph here, the weights beside it in `<file>.data`. */
  saveOptimizedTo?: string;
  /** Pre-pack constant weights for the kernels (onnxruntime's default: true). */
  prepacking?: boolean;
}

function toOrt(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
}

function fromOrt(t: ort.Tensor): TensorData {
  return { dtype: t.type as TensorData['dtype'], dims: [...t.dims], data: t.data as TensorData['data'] };
}

function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s+/g, ' ').trim().slice(0, 600);
}

export class Session implements ProgramSession {
  readonly inner: ort.InferenceSession;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private readonly source: string;

  private constructor(inner: ort.InferenceSession, source: string) {
    this.inner = inner;
    this.inputNames = inner.inputNames;
    this.outputNames = inner.outputNames;
    this.source = source;
  }

  /** A session for a model in memory, its bytes, or an ONNX file (whose external data sits beside it). */
  static async create(model: Model | Uint8Array | string, opts: SessionOptions & StoredSessionOptions = {}): Promise<Session> {
    const bytes = model instanceof Uint8Array || typeof model === 'string' ? model : encodeModel(model);
    const source = opts.source ?? 'model';
    const device = opts.device ?? 'cpu';
    const so: ort.InferenceSession.SessionOptions = {
      executionProviders: device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      graphOptimizationLevel: opts.optimization ?? 'all',
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      logSeverityLevel: 3,
    };
    const config: Record<string, string> = {};
    if (opts.prepacking === false) config['disable_prepacking'] = '1';
    if (opts.saveOptimizedTo) {
      so.optimizedModelFilePath = opts.saveOptimizedTo;
      config['optimized_model_external_initializers_file_name'] = `${opts.saveOptimizedTo.split(/[\\/]/).pop()}.data`;
      config['optimized_model_external_initializers_min_size_in_bytes'] = '1024';
    }
    if (Object.keys(config).length) so.extra = { session: config };
    if (device === 'cuda' && !cudaAvailable())
      throw new FvizError(
        "--device cuda: onnxruntime-node's CUDA provider is not installed; install it with ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js (see README, GPU)",
      );
    try {
      return new Session(typeof bytes === 'string' ? await ort.InferenceSession.create(bytes, so) : await ort.InferenceSession.create(bytes, so), source);
    } catch (e) {
      const msg = oneLine(e);
      const opset = /opset.*?(\d+)/i.exec(msg);
      if (/opset/i.test(msg) && opset)
        throw new FvizError(`${source}: onnxruntime ${ort.env.versions.common} cannot run this model: ${msg}`, { cause: e });
      throw new FvizError(`${source}: onnxruntime could not load the graph: ${msg}`, { cause: e });
    }
  }

  async run(feeds: Feeds, outputs?: string[]): Promise<Record<string, TensorData>> {
    const f: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = toOrt(v);
    let res: ort.InferenceSession.ReturnType;
    try {
      res = outputs ? await this.inner.run(f, outputs) : await this.inner.run(f);
    } catch (e) {
      const msg = oneLine(e);
      const why = explainRunError(msg);
      throw new FvizError(
        why ? `${this.source}: ${why}` : `${this.source}: onnxruntime failed while running the graph fviz compiled from it (${msg})`,
        { cause: e },
      );
    }
    const out: Record<string, TensorData> = {};
    for (const [k, v] of Object.entries(res)) out[k] = fromOrt(v);
    return out;
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}

import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Whether onnxruntime-node was installed with its CUDA provider library. */
export function cudaAvailable(): boolean {
  try {
    const req = createRequire(import.meta.url);
    const root = dirname(req.resolve('onnxruntime-node/package.json'));
    const binDir = join(root, 'bin');
    const stack = [binDir];
    while (stack.length) {
      const d = stack.pop()!;
      if (!existsSync(d)) continue;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) stack.push(join(d, e.name));
        else if (e.name.includes('providers_cuda')) return true;
      }
    }
  } catch {
    /* not installed */
  }
  return false;
}

export const ortVersion = ort.env.versions.common;

/** A session for a program's bytes: `opts.createSession` when given, else onnxruntime-node. */
export async function openSession(model: Model | Uint8Array, opts: SessionOptions = {}): Promise<ProgramSession> {
  if (!opts.createSession) return Session.create(model, opts);
  return opts.createSession(model instanceof Uint8Array ? model : encodeModel(model), { source: opts.source, threads: opts.threads });
}
