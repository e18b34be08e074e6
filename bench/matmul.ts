// (c) This machine's practical peak: a 2048^3 float32 MatMul on onnxruntime, both operands fed as inputs
// (so nothing is constant-folded), best of several runs after warm-up.
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { bestOf } from './timing.ts';

export interface MatmulPeak {
  n: number;
  ms: number;
  gflops: number;
  runs: number;
}

/** A ready 2048^3-style MatMul session: `run` times nothing, the caller does. */
export async function matmulSession(n = 2048): Promise<{ n: number; flops: number; run: () => Promise<unknown>; release: () => Promise<void> }> {
  const g = emptyGraph('matmul_peak');
  g.inputs.push({ name: 'A', dtype: 'float32', shape: [n, n] }, { name: 'B', dtype: 'float32', shape: [n, n] });
  const b = new GraphBuilder(g);
  const c = b.op('MatMul', ['A', 'B']);
  g.outputs.push({ name: c, dtype: 'float32', shape: [n, n] });
  const session = await Session.create(emptyModel(g), { source: 'matmul peak' });
  const rng = new Rng(7);
  const feeds = {
    A: { dtype: 'float32' as const, dims: [n, n], data: rng.fillNormal(new Float32Array(n * n)) },
    B: { dtype: 'float32' as const, dims: [n, n], data: rng.fillNormal(new Float32Array(n * n)) },
  };
  return { n, flops: 2 * n ** 3, run: () => session.run(feeds), release: () => session.release() };
}

export async function matmulPeak(n = 2048, runs = 8): Promise<MatmulPeak> {
  const m = await matmulSession(n);
  try {
    const ms = await bestOf(runs, m.run, 2);
    return { n, ms, gflops: m.flops / (ms * 1e6), runs };
  } finally {
    await m.release();
  }
}
