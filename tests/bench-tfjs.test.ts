// The tfjs reference of the bench must do the same work as the project's engine: on a small conv net with
// every attribute variant the interpreter translates, its forward matches onnxruntime and its tf.grad
// matches the compiled gradient (ObjectiveGradient), computed by two independent implementations.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { prepareModel } from '../src/onnx/prepare.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { sizeOf } from '../src/onnx/ir.ts';
import { Session } from '../src/runtime/session.ts';
import { ObjectiveGradient } from '../src/optvis/objectives/gradient.ts';
import { Rng } from '../src/util/rng.ts';
import { tfjsWasm } from '../bench/tfjs-backend.ts';
import { relL2Diff } from '../bench/rel-diff.ts';
import { TfjsModel } from '../bench/tfjs-model.ts';
import { smallConvModel, SMALL_INPUT, SMALL_LOGITS, SMALL_MID, SMALL_SHAPE } from '../bench/small-model.ts';
import { countFlops } from '../src/bench/flops.ts';

let model: Model;
let feed: TensorData;

beforeAll(async () => {
  await tfjsWasm();
  model = prepareModel(smallConvModel());
  feed = { dtype: 'float32', dims: SMALL_SHAPE, data: new Rng(5).fillNormal(new Float32Array(sizeOf(SMALL_SHAPE))) };
});

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / scale;
}

describe('tfjs-wasm reference interpreter', () => {
  it('runs on the wasm backend with SIMD, from node_modules', async () => {
    const info = await tfjsWasm();
    expect(info.backend).toBe('wasm');
    expect(info.simd).toBe(true);
  });

  it('forward matches onnxruntime to 1e-4 (relative to the largest value)', async () => {
    const outs = [SMALL_MID, SMALL_LOGITS, model.graph.outputs[0]!.name];
    const m: Model = { ...model, graph: { ...model.graph, outputs: outs.map((name) => ({ name, ...model.graph.valueTypes.get(name)! })) } };
    const session = await Session.create(m);
    const ref = await session.run({ [SMALL_INPUT]: feed });
    await session.release();
    const tm = new TfjsModel(model);
    const got = tf.tidy(() => tm.forward({ [SMALL_INPUT]: tf.tensor(feed.data as Float32Array, SMALL_SHAPE) }, outs));
    for (const o of outs) {
      expect(got[o]!.shape).toEqual(ref[o]!.dims);
      expect(maxRelDiff(ref[o]!.data as Float32Array, got[o]!.dataSync())).toBeLessThan(1e-4);
    }
    tf.dispose(Object.values(got));
    tm.dispose();
  });

  it('tf.grad matches the compiled gradient to 1e-3 relative', async () => {
    // a channel of the inception-like concat plus a class logit: gradients cross every op kind
    const objective = `${SMALL_MID}:3 + 0.5*class:2`;
    const og = await ObjectiveGradient.create(model, { objective });
    const ref = await og.run({ [SMALL_INPUT]: feed });
    await og.release();
    const tm = new TfjsModel(model);
    const got = tm.valueAndGrad({ [SMALL_INPUT]: feed }, { text: objective });
    tm.dispose();
    expect(Math.abs(got.value - ref.value)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.value)));
    const g = ref.grads.get(SMALL_INPUT)!.data as Float32Array;
    expect(relL2Diff(got.grad, g)).toBeLessThan(1e-3);
  });
});

describe('analytic FLOP count', () => {
  it('counts 2*MACs of Conv, ConvTranspose and Gemm from static shapes, only what a target needs', () => {
    const g = model.graph;
    const all = countFlops(g);
    const toMid = countFlops(g, [SMALL_MID]);
    // conv1: 2*8*17*17 outputs x 27 MACs; grouped: 2*12*8*8 x 36; depthwise: 2*12*8*8 x 9;
    // branch 1x1: 2*6*8*8 x 12; branch 3x3: 2*5*8*8 x 108
    const mid = 2 * 8 * 17 * 17 * 27 + 2 * 12 * 64 * 36 + 2 * 12 * 64 * 9 + 2 * 6 * 64 * 12 + 2 * 5 * 64 * 108;
    expect(toMid.macs).toBe(mid);
    // strided conv: 2*8*4*4 x 47*9; transposed: input 2*8*4*4 x 4*16; Gemms: 2*5*3008 and 2*5*4
    expect(all.macs).toBe(mid + 2 * 8 * 16 * 47 * 9 + 2 * 8 * 16 * 4 * 16 + 2 * 5 * 47 * 64 + 2 * 5 * 4);
    expect(all.forwardBackwardFlops).toBe(4 * all.macs);
  });
});
