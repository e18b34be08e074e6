// tfjs LayersModels built with tfjs-layers (random weights), saved with tfjs' save path, converted to ONNX:
// forward against tfjs' predict, and fviz's compiled input gradient of a unit against tfjs' tf.grad.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ObjectiveGradient } from '../src/optvis/objectives/gradient.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { Session } from '../src/runtime/session.ts';
import { convertTfjsModel } from '../src/tfjs/convert.ts';
import { readLayersModelFiles } from '../src/tfjs/io.ts';
import { impliedRange, tfjsCard } from '../src/tfjs/card.ts';
import { withDisplayInput } from '../src/classifier/card.ts';
import { avgPoolSameModel, channelRescalingModel, convModel, teachableMachineModel, transposedModel, copyStuffed, dilatedModel, mobileNetModel, nestedModel, saveTestModel, sequentialModel, shapeModel, type TestModel } from './helpers/tfjs-models.ts';
import type { Tfjs } from '../src/tfjs/runtime.ts';
import { samePads } from '../src/tfjs/layers.ts';

const root = mkdtempSync(join(tmpdir(), 'fviz-tfjs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let e = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    e = Math.max(e, Math.abs(got[i]! - want[i]!));
    m = Math.max(m, Math.abs(want[i]!));
  }
  expect(m).toBeGreaterThan(0);
  return e / m;
}

/** The largest |activation| of a layer at the last evaluation: the scale unit values are compared at. */
const scaleOf = new Map<string, number>();

/** tfjs' value of fviz's unit objective `layer:c`: channel c averaged over positions (4-D) or element c (2-D), summed over the batch. */
function tfjsUnit(tfjs: Tfjs, model: TestModel['model'], layer: string, c: number): (x: Tensor) => Tensor {
  const { tf, tfl } = tfjs;
  const l = model.getLayer(layer);
  // A nested model's first node is its own inner graph; the call inside the outer model is its last.
  const sub = tfl.model({ inputs: model.inputs, outputs: (l.inboundNodes.length > 1 && 'layers' in l ? l.getOutputAt(l.inboundNodes.length - 1) : l.output) as never });
  return (x) => {
    const y = sub.apply(x) as Tensor;
    scaleOf.set(layer, tf.max(tf.abs(y)).dataSync()[0]!);
    const ch = tf.gather(y, [c], y.rank - 1);
    return y.rank === 4 ? tf.sum(tf.mean(ch, [1, 2])) : tf.sum(ch);
  };
}

const cases: [string, (t: Tfjs) => TestModel][] = [
  ['convolutions, normalization, pooling, merges, activations', convModel],
  ['shape layers, transposed convolution, resampling, activation layers, Rescaling', shapeModel],
  ['a nested Sequential, a shared layer, Average/Maximum/Minimum', nestedModel],
  ['a Sequential model', sequentialModel],
  ['a MobileNet-style model', mobileNetModel],
  ['dilated convolutions', dilatedModel],
  ['per-channel Rescaling', channelRescalingModel],
  ["Teachable Machine's nesting", teachableMachineModel],
  ['transposed convolutions with uneven cropping and kernels smaller than the stride', transposedModel],
];

const measured: Record<string, { forward: number; grads: Record<string, number> }> = {};
afterAll(() => console.log(`tfjs agreement: ${JSON.stringify(measured)}`));

describe('tfjs LayersModel -> ONNX', () => {
  cases.forEach(([what, build], k) => {
    it(`${what}: forward within 1e-5 of predict, unit gradients within 1e-4 of tf.grad`, async () => {
      const dir = join(root, `m${k}`);
      const { model, units, tfjs } = await saveTestModel(build, dir, 100 * k + 1);
      const { tf } = tfjs;
      const conv = await convertTfjsModel(join(dir, 'model.json'));
      if (build === teachableMachineModel) expect(conv.aliases).toMatchObject({ Conv1: 'Conv1', Conv1_relu: 'Conv1_relu', 'sequential_3/dense_1': 'sequential_3/dense_1', dense_2: 'sequential_3/dense_2' });
      if (build === nestedModel) expect(conv.aliases).toMatchObject({ block: 'block/inner_relu', 'block/inner_conv': 'block/inner_conv', inner_conv: 'block/inner_conv', shared: 'shared' });
      const shape = model.inputs[0]!.shape.slice(1) as number[];
      const name = conv.model.graph.inputs[0]!.name;
      // tfjs has no gradient through dilated convolutions: its reference is the twin with zero-stuffed kernels.
      let stuffed: TestModel['model'] | undefined;
      if (build === dilatedModel) {
        stuffed = dilatedModel(tfjs, true).model;
        copyStuffed(tfjs, model, stuffed);
      }

      // Forward, batch 2.
      const x2 = tf.randomUniform([2, ...shape], -1.5, 1.5, 'float32', 7 + k);
      const want = (model.predict(x2) as Tensor).dataSync();
      const session = await Session.create(prepareModel(conv.model, { batch: 2 }));
      const out = await session.run({ [name]: { dtype: 'float32', dims: [2, ...shape], data: x2.dataSync() as Float32Array } });
      await session.release();
      const fwd = relErr(out[conv.model.graph.outputs[0]!.name]!.data as Float32Array, want);
      expect(fwd).toBeLessThan(1e-5);
      measured[what] = { forward: fwd, grads: {} };

      // Input gradients of units, batch 1.
      const x1 = tf.randomUniform([1, ...shape], -1.5, 1.5, 'float32', 17 + k);
      const prepared = prepareModel(conv.model, { batch: 1 });
      for (const [layer, c] of units) {
        const og = await ObjectiveGradient.create(prepared, { objective: `${layer}:${c}` });
        const r = await og.run({ [name]: { dtype: 'float32', dims: [1, ...shape], data: x1.dataSync() as Float32Array } });
        await og.release();
        const f = tfjsUnit(tfjs, stuffed ?? model, layer, c);
        const value = f(x1).dataSync()[0]!;
        // A unit's value is a sum with cancellation: compare it at the scale of the layer's activations.
        const scale = Math.max(Math.abs(value), scaleOf.get(layer)!);
        if (stuffed) expect(Math.abs(tfjsUnit(tfjs, model, layer, c)(x1).dataSync()[0]! - value)).toBeLessThanOrEqual(1e-5 * scale);
        expect(Math.abs(r.value - value)).toBeLessThanOrEqual(1e-5 * scale);
        const g = tf.grad(f)(x1).dataSync();
        const err = relErr(r.grads.get(name)!.data as Float32Array, g);
        measured[what]!.grads[`${layer}:${c}`] = err;
        expect(err, `${layer}:${c}`).toBeLessThan(1e-4);
      }
      model.dispose();
    }, 120_000);
  });

  it("'same' average pooling: fviz's gradient matches a tfjs reference built from ops tfjs differentiates exactly", async () => {
    const dir = join(root, 'avgsame');
    const { model, tfjs } = await saveTestModel(avgPoolSameModel, dir, 77);
    const { tf, tfl } = tfjs;
    const conv = await convertTfjsModel(join(dir, 'model.json'));
    const name = conv.model.graph.inputs[0]!.name;
    const convSub = tfl.model({ inputs: model.inputs, outputs: model.getLayer('aconv').output as never });
    const [pt, pb] = samePads(7, 3, 2, 1);
    const [pl, pr] = samePads(6, 3, 2, 1);
    const padding: [number, number][] = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
    // The in-bounds mean of each window: window sums over the zero-padded input / in-bounds counts.
    const pool = (c: Tensor) => tf.div(tf.avgPool(tf.pad(c as never, padding), 3, 2, 'valid'), tf.avgPool(tf.pad(tf.onesLike(c) as never, padding), 3, 2, 'valid'));
    const ref = (x: Tensor) => pool(convSub.apply(x) as Tensor);
    const head = (p: Tensor) => model.getLayer('aout').apply(tf.reshape(p, [p.shape[0]!, -1])) as Tensor;
    const x = tf.randomUniform([1, 7, 6, 2], -1, 1, 'float32', 5);
    expect(relErr(head(ref(x)).dataSync(), (model.predict(x) as Tensor).dataSync())).toBeLessThan(1e-6);
    const prepared = prepareModel(conv.model, { batch: 1 });
    const units: [string, (x: Tensor) => Tensor][] = [
      ['apool:1', (v) => tf.sum(tf.mean(tf.gather(ref(v), [1], 3), [1, 2]))],
      ['aout:1', (v) => tf.sum(tf.gather(head(ref(v)), [1], 1))],
    ];
    measured["'same' average pooling"] = { forward: 0, grads: {} };
    for (const [objective, f] of units) {
      const og = await ObjectiveGradient.create(prepared, { objective });
      const r = await og.run({ [name]: { dtype: 'float32', dims: [1, 7, 6, 2], data: x.dataSync() as Float32Array } });
      await og.release();
      const err = relErr(r.grads.get(name)!.data as Float32Array, tf.grad(f)(x).dataSync());
      measured["'same' average pooling"]!.grads[objective] = err;
      expect(err, objective).toBeLessThan(1e-4);
    }
    // tfjs' own gradient of the layer is not the derivative of its forward at the borders.
    const own = tf.grad((v: Tensor) => tf.sum(tf.gather(model.predict(v) as Tensor, [1], 1)))(x).dataSync();
    expect(relErr(own, tf.grad(units[1]![1])(x).dataSync())).toBeGreaterThan(1e-2);
  });

  it("tensorflowjs_converter's layout: model_config inside modelTopology, several groups and shards, uint8-quantized weights", async () => {
    const src = join(root, 'seq-src');
    const { model, tfjs } = await saveTestModel(sequentialModel, src, 9);
    const { tf, tfl } = tfjs;
    const json = JSON.parse(readFileSync(join(src, 'model.json'), 'utf8'));
    const bytes = readFileSync(join(src, 'weights.bin'));
    const specs = json.weightsManifest[0].weights as { name: string; shape: number[]; dtype: string; quantization?: unknown }[];
    const size = (sp: { shape: number[] }) => sp.shape.reduce((a, b) => a * b, 1) * 4;
    const dir = join(root, 'keras-layout');
    mkdirSync(dir, { recursive: true });
    // Group 1: the first two weights, split over two shards at an arbitrary byte.
    const g1 = specs.slice(0, 2);
    const n1 = g1.reduce((a, sp) => a + size(sp), 0);
    writeFileSync(join(dir, 'group1-shard1of2.bin'), bytes.subarray(0, 37));
    writeFileSync(join(dir, 'group1-shard2of2.bin'), bytes.subarray(37, n1));
    // Group 2: the rest, the Dense kernel quantized to uint8 as tensorflowjs_converter --quantize_uint8 does.
    const parts: Buffer[] = [];
    let off = n1;
    const g2 = specs.slice(2).map((sp) => {
      const raw = new Float32Array(bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + size(sp)));
      off += size(sp);
      if (!sp.name.endsWith('sdense/kernel')) {
        parts.push(Buffer.from(raw.buffer));
        return sp;
      }
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of raw) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      const scale = (hi - lo) / 255;
      parts.push(Buffer.from(Uint8Array.from(raw, (v) => Math.round((v - lo) / scale))));
      return { ...sp, quantization: { dtype: 'uint8', min: lo, scale } };
    });
    expect(g2.some((sp) => sp.quantization)).toBe(true);
    writeFileSync(join(dir, 'group2-shard1of1.bin'), Buffer.concat(parts));
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({
        format: 'layers-model',
        generatedBy: 'keras v2.15.0',
        convertedBy: 'TensorFlow.js Converter v4.22.0',
        modelTopology: { keras_version: '2.15.0', backend: 'tensorflow', model_config: json.modelTopology },
        weightsManifest: [
          { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: g1 },
          { paths: ['group2-shard1of1.bin'], weights: g2 },
        ],
      }),
    );
    const conv = await convertTfjsModel(join(dir, 'model.json'));
    const reloaded = await tfl.loadLayersModel({ load: async () => readLayersModelFiles(join(dir, 'model.json')).artifacts });
    const x = tf.randomUniform([2, 5, 5, 3], -1, 1, 'float32', 4);
    const session = await Session.create(prepareModel(conv.model, { batch: 2 }));
    const out = await session.run({ [conv.model.graph.inputs[0]!.name]: { dtype: 'float32', dims: [2, 5, 5, 3], data: x.dataSync() as Float32Array } });
    await session.release();
    const got = out[conv.model.graph.outputs[0]!.name]!.data as Float32Array;
    expect(relErr(got, (reloaded.predict(x) as Tensor).dataSync())).toBeLessThan(1e-5);
    // Quantization changed the function, within its step.
    const orig = relErr(got, (model.predict(x) as Tensor).dataSync());
    expect(orig).toBeGreaterThan(1e-6);
    expect(orig).toBeLessThan(0.05);
  });

  it("the card's convention (NHWC layout, range from Rescaling) turns a display image into what tfjs predicts from its pixels", async () => {
    const dir = join(root, 'card');
    const { model, tfjs } = await saveTestModel((t) => mobileNetModel(t, 3, 16), dir, 21);
    const { tf } = tfjs;
    writeFileSync(join(dir, 'labels.txt'), 'red\ngreen\nblue\n');
    const conv = await convertTfjsModel(join(dir, 'model.json'));
    const card = tfjsCard(conv, conv.files.path, 'model.onnx', conv.files.sha256);
    expect(card.input).toMatchObject({ range: [0, 255], size: [16, 16], layout: 'NHWC' });
    expect(card.labels).toEqual(['red', 'green', 'blue']);
    writeFileSync(join(dir, 'labels.txt'), 'red\ngreen\n');
    const mismatched = tfjsCard(conv, conv.files.path, 'model.onnx', conv.files.sha256);
    expect(mismatched.labels).toBeUndefined();
    expect(String(mismatched['notes'])).toContain('2 labels for 3 output units');
    const display = withDisplayInput(prepareModel(conv.model, { batch: 1 }), card.input);
    const img = tf.randomUniform([1, 3, 16, 16], 0, 1, 'float32', 8);
    const session = await Session.create(prepareModel(display, { batch: 1 }));
    const out = await session.run({ image: { dtype: 'float32', dims: [1, 3, 16, 16], data: img.dataSync() as Float32Array } });
    await session.release();
    const pixels = tf.mul(tf.transpose(img, [0, 2, 3, 1]), 255);
    expect(relErr(out[conv.model.graph.outputs[0]!.name]!.data as Float32Array, (model.predict(pixels) as Tensor).dataSync())).toBeLessThan(1e-5);
    expect(impliedRange(1 / 255, 0)).toEqual([0, 255]);
    expect(impliedRange(2 / 255, -1)).toEqual([0, 255]);
    expect(impliedRange(1, 0)).toEqual([0, 1]);
  });
});
