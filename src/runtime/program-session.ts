// What the render loop needs of an ONNX runtime session, apart from which runtime it is: onnxruntime-node
// in Node (runtime/session.ts), onnxruntime-web in the live page (web/live/ort-web.ts). This file imports
// nothing, so code bundled into the page can name these types.
import type { TensorData } from '../onnx/ir.ts';

export type Feeds = Record<string, TensorData>;

/** A loaded program: named tensors in, named tensors out. */
export interface ProgramSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Feeds, outputs?: string[]): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

/** Loads serialized ONNX bytes into a session of some runtime. */
export type SessionFactory = (bytes: Uint8Array, opts: { source?: string; threads?: number }) => Promise<ProgramSession>;
