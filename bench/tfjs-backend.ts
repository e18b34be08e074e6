// The tfjs wasm backend, loaded from node_modules (the .wasm binaries ship inside the package; nothing is
// downloaded). Single-threaded: the threaded build needs cross-origin isolation / worker support that
// Node's tfjs-backend-wasm build does not use, so SIMD on one thread is what Node gets.
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';

export interface TfjsBackendInfo {
  backend: string;
  simd: boolean;
  threads: number;
  version: string;
}

let ready: Promise<TfjsBackendInfo> | undefined;

/**
 * tf.grad needs the gradient definitions, which ship only in tfjs-core's unbundled ESM tree (the
 * `@tensorflow/tfjs` umbrella package imports them for its users); load that tree through module hooks.
 */
async function registerGradients(): Promise<void> {
  register(new URL('./tfjs-esm-hooks.mjs', import.meta.url));
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
}

async function init(): Promise<TfjsBackendInfo> {
  await registerGradients();
  const req = createRequire(import.meta.url);
  const dist = join(dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  setWasmPaths(`${dist}/`);
  // The emscripten module installs process-wide handlers that rethrow (printing its whole minified
  // source with any later error); take back the ones it added.
  type Listener = (...args: unknown[]) => void;
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string) => process.listeners(e as 'exit') as Listener[];
  const before = new Set(events.flatMap(listeners));
  if (!(await tf.setBackend('wasm'))) throw new Error(`tfjs: the wasm backend did not initialize from ${dist}`);
  await tf.ready();
  for (const e of events)
    for (const l of listeners(e)) if (!before.has(l)) process.removeListener(e, l);
  return {
    backend: tf.getBackend(),
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: getThreadsCount(),
    version: tf.version_core,
  };
}

/** Selects the wasm backend (once per process). */
export function tfjsWasm(): Promise<TfjsBackendInfo> {
  ready ??= init();
  return ready;
}

/** Kernels the wasm backend registers, to name what a missing gradient would need. */
export function wasmKernels(): Set<string> {
  return new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
}
