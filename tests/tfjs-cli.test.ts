// The tfjs converter from the CLI: convert-tfjs writes a model and its card; visualize takes model.json
// directly (converted once into the models cache); bad input gets one line and exit code 2.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, statSync, unlinkSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { readModel } from '../src/onnx/proto.ts';
import { readNpy, writeNpy } from '../src/runtime/npy.ts';
import type { Tensor } from '@tensorflow/tfjs-core';
import { fileSaveHandler } from '../src/tfjs/io.ts';
import { loadTfjs } from '../src/tfjs/runtime.ts';
import { mobileNetModel, saveTestModel } from './helpers/tfjs-models.ts';

const root = mkdtempSync(join(tmpdir(), 'fviz-tfjs-cli-'));
const cache = join(root, 'cache');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fviz = (...args: string[]) =>
  spawnSync(process.execPath, ['bin/fviz.js', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, FVIZ_MODELS: cache } });

const LABELS = ['cat', 'dog', 'bird', 'fish', 'frog'];
const mobile = join(root, 'mobile');

beforeAll(async () => {
  await saveTestModel((t) => mobileNetModel(t, LABELS.length, 32), mobile, 3);
  // Teachable Machine writes its labels into metadata.json beside model.json.
  writeFileSync(join(mobile, 'metadata.json'), JSON.stringify({ tfjsVersion: '1.3.1', tmVersion: '2.4.7', modelName: 'tm-my-image-model', labels: LABELS, imageSize: 32 }));
}, 60_000);

function expectOneLineError(r: ReturnType<typeof fviz>, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('fviz models convert-tfjs', () => {
  it('writes the ONNX model and a card: NHWC input, range from the Rescaling layer, aliases, labels from metadata.json', () => {
    const out = join(root, 'mobile.onnx');
    const r = fviz('models', 'convert-tfjs', join(mobile, 'model.json'), out, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.inputs).toEqual([{ name: 'input_image', shape: ['N', 32, 32, 3] }]);
    expect(summary.outputs).toEqual([{ name: 'predictions', shape: ['N', 5] }]);
    const m = readModel(out);
    expect(m.graph.nodes[0]!.opType).toBe('Transpose');
    const card = JSON.parse(readFileSync(join(root, 'mobile.card.json'), 'utf8'));
    expect(card.model).toBe('mobile.onnx');
    expect(card.input).toMatchObject({ channels: 'RGB', range: [0, 255], size: [32, 32], layout: 'NHWC' });
    expect(card.labels).toEqual(LABELS);
    expect(card.preSoftmax).toBe('predictions/preact');
    expect(card.aliases).toMatchObject({ conv_pw_2: 'conv_pw_2', conv_pw_2_relu: 'conv_pw_2_relu', predictions: 'predictions' });
  });

  it('visualize --model model.json: converts once into the cache, then runs fourier end to end on a layer alias and a label', () => {
    const vis = join(root, 'vis');
    const r = fviz('visualize', '--model', join(mobile, 'model.json'), '--objective', 'conv_pw_2_relu:3', '--method', 'fourier', '--steps', '6', '--size', '32', '--out', vis);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(vis, 'result.png'))).toBe(true);
    const run = JSON.parse(readFileSync(join(vis, 'run.json'), 'utf8'));
    expect(JSON.stringify(run)).toContain('conv_pw_2_relu');
    const entries = readdirSync(join(cache, 'tfjs'));
    expect(entries).toHaveLength(1);
    const cached = join(cache, 'tfjs', entries[0]!, 'model.onnx');
    const before = statSync(cached).mtimeMs;
    const r2 = fviz('visualize', '--model', join(mobile, 'model.json'), '--objective', 'class:dog', '--method', 'fourier', '--steps', '4', '--out', join(root, 'vis2'));
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stdout).toContain('class:1 (dog)');
    expect(statSync(cached).mtimeMs).toBe(before);
  }, 240_000);

  it('grad --model model.json: the value and input gradient of a layer alias as tfjs computes them', async () => {
    const { tf, tfl } = await loadTfjs();
    const model = await tfl.loadLayersModel({ load: async () => (await import('../src/tfjs/io.ts')).readLayersModelFiles(join(mobile, 'model.json')).artifacts });
    const x = tf.randomUniform([1, 32, 32, 3], 0, 255, 'float32', 11);
    writeNpy(join(root, 'x.npy'), { dtype: 'float32', dims: [1, 32, 32, 3], data: x.dataSync() as Float32Array });
    const r = fviz('grad', '--model', join(mobile, 'model.json'), '--input', join(root, 'x.npy'), '--objective', 'conv_pw_2:3', '--out', join(root, 'g.npy'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const sub = tfl.model({ inputs: model.inputs, outputs: model.getLayer('conv_pw_2').output as never });
    const f = (v: Tensor) => tf.sum(tf.mean(tf.gather(sub.apply(v) as Tensor, [3], 3), [1, 2]));
    const want = f(x).dataSync()[0]!;
    expect(Math.abs(JSON.parse(r.stdout).value - want)).toBeLessThan(1e-5 * Math.abs(want));
    const g = readNpy(join(root, 'g.npy')).data as Float32Array;
    const ref = tf.grad(f)(x).dataSync();
    let e = 0;
    let m = 0;
    for (let i = 0; i < ref.length; i++) {
      e = Math.max(e, Math.abs(g[i]! - ref[i]!));
      m = Math.max(m, Math.abs(ref[i]!));
    }
    expect(e / m).toBeLessThan(1e-4);
  });

  it('a missing weight shard: one line naming it, exit 2', () => {
    const dir = join(root, 'noshard');
    cpSync(mobile, dir, { recursive: true });
    unlinkSync(join(dir, 'weights.bin'));
    expectOneLineError(fviz('models', 'convert-tfjs', join(dir, 'model.json'), join(root, 'x.onnx')), /^fviz: weight shard '.*noshard\/weights\.bin' named by .*model\.json \(group 1\) is missing/);
    // The same through --model.
    expectOneLineError(fviz('visualize', '--model', join(dir, 'model.json'), '--objective', 'class:0', '--method', 'fourier', '--steps', '1', '--out', join(root, 'v')), /weights\.bin' named by .* is missing/);
  });

  it('a shard of the wrong size: one line with both sizes, exit 2', () => {
    const dir = join(root, 'short');
    cpSync(mobile, dir, { recursive: true });
    const size = statSync(join(dir, 'weights.bin')).size;
    truncateSync(join(dir, 'weights.bin'), size - 8);
    expectOneLineError(fviz('models', 'convert-tfjs', join(dir, 'model.json'), join(root, 'x.onnx')), new RegExp(`weight shard '.*weights\\.bin' has ${size - 8} bytes but .*model\\.json declares ${size} bytes`));
  });

  it('a layer the converter does not take: one line naming the class and the layer, exit 2', async () => {
    const { tfl } = await loadTfjs();
    const inp = tfl.input({ shape: [8, 8, 3] });
    const x = tfl.layers.layerNormalization({ name: 'my_norm' }).apply(tfl.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(inp)) as SymbolicTensor;
    const dir = join(root, 'unknown');
    await tfl.model({ inputs: inp, outputs: x }).save(fileSaveHandler(dir));
    expectOneLineError(fviz('models', 'convert-tfjs', join(dir, 'model.json'), join(root, 'x.onnx')), /^fviz: .*model\.json: layer 'my_norm' has class 'LayerNormalization', which the tfjs converter does not support; supported: Conv2D/);
  });

  it('a GraphModel: one line saying it is not a LayersModel and how to convert it, exit 2', () => {
    const dir = join(root, 'graph');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', generatedBy: '2.15.0', convertedBy: 'TensorFlow.js Converter v4.22.0', modelTopology: { node: [{ name: 'x', op: 'Placeholder' }], library: {}, versions: {} }, weightsManifest: [] }));
    expectOneLineError(fviz('models', 'convert-tfjs', join(dir, 'model.json'), join(root, 'x.onnx')), /is a TensorFlow\.js GraphModel .*not a LayersModel.*tensorflowjs_converter --input_format keras.*tf2onnx/);
  });
});
