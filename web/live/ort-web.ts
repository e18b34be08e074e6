// onnxruntime-web as the session factory of the shared loops (SessionOptions.createSession's type): the
// wasm backend, its files fetched from the server's ort/ folder, threads when the page is cross-origin
// isolated.
import * as ort from 'onnxruntime-web/wasm';
import type { TensorData } from '../../src/onnx/ir.ts';
import type { Feeds, ProgramSession, SessionFactory } from '../../src/runtime/program-session.ts';

/** Sets where the wasm files come from and how many threads run them; call before the first session. */
export function configureOrt(threads: number): number {
  ort.env.wasm.wasmPaths = new URL('ort/', document.baseURI).href;
  const n = crossOriginIsolated ? Math.max(1, threads) : 1;
  ort.env.wasm.numThreads = n;
  ort.env.logLevel = 'error';
  return n;
}

export const ortWebVersion: string = ort.env.versions.web ?? ort.env.versions.common ?? '?';

export const createWebSession: SessionFactory = async (bytes, opts): Promise<ProgramSession> => {
  let s: ort.InferenceSession;
  try {
    s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', executionMode: 'sequential' });
  } catch (e) {
    throw new Error(`${opts.source ?? 'program'}: onnxruntime-web could not load it (${e instanceof Error ? e.message : String(e)})`);
  }
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds: Feeds, outputs?: string[]) {
      const f: Record<string, ort.Tensor> = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(v.dtype as ort.Tensor.Type, v.data as ort.Tensor.DataType, v.dims);
      const res = outputs ? await s.run(f, outputs) : await s.run(f);
      const out: Record<string, TensorData> = {};
      for (const [k, t] of Object.entries(res)) out[k] = { dtype: t.type as TensorData['dtype'], dims: [...t.dims], data: t.data as TensorData['data'] };
      return out;
    },
    release: () => s.release(),
  };
};
