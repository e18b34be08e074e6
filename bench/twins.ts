// The architecture twins as the benches use them: built once (cached .onnx under .cache/twins), prepared
// once per run, shared between benches through the context.
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { sizeOf } from '../src/onnx/ir.ts';
import { loadModel } from '../src/onnx/prepare.ts';
import { twinPath, type TwinName } from '../src/twins/index.ts';
import { Rng } from '../src/util/rng.ts';
import type { BenchContext } from './registry.ts';

export const TWIN_SEED = 0;

/** A twin at batch 1, prepared (static shapes). */
export function twin(ctx: BenchContext, name: TwinName): Promise<Model> {
  return ctx.shared(`twin:${name}`, () => {
    const t0 = performance.now();
    const m = loadModel(twinPath(name, { seed: TWIN_SEED }), { batch: 1 });
    ctx.log(`${name} twin ready in ${Math.round(performance.now() - t0)} ms`);
    return m;
  });
}

/** A seeded input for the model's first graph input: N(0,1), or |N(0,1)| for a non-negative code. */
export function randomInput(model: Model, seed: number, nonNegative = false): Record<string, TensorData> {
  const input = model.graph.inputs[0]!;
  const dims = input.shape as number[];
  const data = new Rng(seed).fillNormal(new Float32Array(sizeOf(dims)));
  if (nonNegative) for (let i = 0; i < data.length; i++) data[i] = Math.abs(data[i]!);
  return { [input.name]: { dtype: 'float32', dims, data } };
}
