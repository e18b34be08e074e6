import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertCaffe } from '../src/caffe/convert.ts';
import { parseNet, type NetDefinition } from '../src/caffe/net.ts';
import type { Model, Node, TensorData } from '../src/onnx/ir.ts';
import { readModel } from '../src/onnx/proto.ts';
import { Session } from '../src/runtime/session.ts';
import { sharedDir } from '../src/shared-path.ts';
import { twinPath } from '../src/twins/cache.ts';
import { fc6GeneratorTwin } from '../src/twins/fc6-generator.ts';
import { googlenetTwin, googlenetTwinWeights } from '../src/twins/googlenet.ts';
import { Rng } from '../src/util/rng.ts';

const REF = (f: string) => readFileSync(join(sharedDir(), 'reference', f), 'utf8');

async function forward(m: Model, x: TensorData, outputs: string[]): Promise<Record<string, TensorData>> {
  for (const n of outputs) if (!m.graph.outputs.some((o) => o.name === n)) m.graph.outputs.push({ name: n, ...m.graph.valueTypes.get(n)! });
  const s = await Session.create(m, { threads: 2 });
  try {
    return await s.run({ [m.graph.inputs[0]!.name]: x }, outputs);
  } finally {
    await s.release();
  }
}

const normal = (dims: number[], seed: number): TensorData => ({
  dtype: 'float32',
  dims,
  data: new Rng(seed).fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1))),
});

function std(t: TensorData): number {
  const d = t.data as Float32Array;
  let s = 0;
  for (const v of d) s += v * v;
  return Math.sqrt(s / d.length);
}

const ONNX_OP: Record<string, string[]> = {
  Convolution: ['Conv'],
  Deconvolution: ['ConvTranspose'],
  ReLU: ['Relu', 'LeakyRelu'],
  Pooling: ['MaxPool', 'AveragePool'],
  LRN: ['LRN'],
  Concat: ['Concat'],
  Dropout: ['Identity'],
  InnerProduct: ['Gemm'],
  Softmax: ['Softmax'],
  Reshape: ['Reshape'],
};

/** The twin reproduces the prototxt: same layers in the same order, ops, wiring and conv/pool parameters. */
function expectSameLayout(twin: Model, net: NetDefinition): void {
  const helpers = twin.graph.nodes.filter((n) => n.name.endsWith('/flatten'));
  const throughHelper = new Map(helpers.map((h) => [h.outputs[0]!, h.inputs[0]!]));
  const nodes = twin.graph.nodes.filter((n) => !helpers.includes(n));
  expect(nodes.map((n) => n.name)).toEqual(net.layers.map((l) => l.name));
  const ints = (n: Node, a: string) => n.attrs[a]?.ints;
  net.layers.forEach((l, i) => {
    const n = nodes[i]!;
    expect(ONNX_OP[l.type], `${l.name}`).toContain(n.opType);
    // Wiring: the node reads (a version of) each bottom blob, through a helper Flatten where there is one.
    const data = n.inputs.filter((t) => !twin.graph.initializers.has(t)).map((t) => throughHelper.get(t) ?? t);
    expect(data.map((t) => t.replace(/__\d+$/, '')), l.name).toEqual(l.bottom);
    expect(n.outputs.map((t) => t.replace(/__\d+$/, '')), l.name).toEqual(l.top);
    const cp = l.params.message('convolution_param');
    if (cp) {
      const k = cp.ints('kernel_size')[0]!;
      const p = cp.ints('pad')[0] ?? 0;
      const s = cp.ints('stride')[0] ?? 1;
      expect([ints(n, 'kernel_shape'), ints(n, 'pads'), ints(n, 'strides')], l.name).toEqual([[k, k], [p, p, p, p], [s, s]]);
      const w = twin.graph.initializers.get(n.inputs[1]!)!;
      expect(w.dims[l.type === 'Deconvolution' ? 1 : 0], l.name).toBe(cp.uint('num_output'));
    }
    const pp = l.params.message('pooling_param');
    if (pp) {
      const k = pp.uint('kernel_size')!;
      expect(n.opType).toBe(pp.enumValue('pool', 'MAX') === 'MAX' ? 'MaxPool' : 'AveragePool');
      expect([ints(n, 'kernel_shape'), ints(n, 'strides')], l.name).toEqual([[k, k], [pp.uint('stride', 1), pp.uint('stride', 1)]]);
    }
    const ip = l.params.message('inner_product_param');
    if (ip) expect(twin.graph.initializers.get(n.inputs[1]!)!.dims[0]).toBe(ip.uint('num_output'));
    const relu = l.params.message('relu_param');
    if (relu) expect(n.attrs['alpha']!.f).toBeCloseTo(relu.number('negative_slope', 0), 7);
  });
}

describe('GoogLeNet twin', () => {
  const model = googlenetTwin({ seed: 1 });

  it('reproduces bvlc_googlenet.prototxt layer by layer', () => {
    expectSameLayout(model, parseNet(REF('bvlc_googlenet.prototxt')));
    expect(model.graph.inputs).toEqual([{ name: 'data', dtype: 'float32', shape: [1, 3, 224, 224] }]);
  });

  it("has Caffe's shapes: ceil-rounded pools (112 -> 56), 14x14 inception_4c, 1x1 pool5", () => {
    const shape = (t: string) => model.graph.valueTypes.get(t)!.shape;
    expect(shape('conv1/7x7_s2')).toEqual([1, 64, 112, 112]);
    expect(shape('pool1/3x3_s2')).toEqual([1, 64, 56, 56]);
    expect(shape('pool2/3x3_s2')).toEqual([1, 192, 28, 28]);
    expect(shape('inception_3b/output')).toEqual([1, 480, 28, 28]);
    expect(shape('inception_4c/output')).toEqual([1, 512, 14, 14]);
    expect(shape('inception_4e/output')).toEqual([1, 832, 14, 14]);
    expect(shape('pool4/3x3_s2')).toEqual([1, 832, 7, 7]);
    expect(shape('inception_5b/output')).toEqual([1, 1024, 7, 7]);
    expect(shape('pool5/7x7_s1')).toEqual([1, 1024, 1, 1]);
    expect(shape('loss3/classifier')).toEqual([1, 1000]);
  });

  it('keeps activations O(1) through the depth for a unit-normal input; prob is a distribution', async () => {
    const out = await forward(model, normal([1, 3, 224, 224], 2), ['loss3/classifier', 'inception_4c/output', 'prob']);
    for (const t of ['loss3/classifier', 'inception_4c/output']) {
      expect(std(out[t]!), t).toBeGreaterThan(1e-2);
      expect(std(out[t]!), t).toBeLessThan(1e2);
    }
    const p = out['prob']!.data as Float32Array;
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });

  it('weights depend on the seed only; a random-weight conversion of the prototxt with the same seed is the same network', async () => {
    const twin3 = googlenetTwin({ seed: 3 });
    const w = (m: Model) => m.graph.initializers.get('inception_4c/3x3/W')!.data as Float32Array;
    expect(w(twin3)).toEqual(googlenetTwinWeights(3).get('inception_4c/3x3')![0]!.data);
    expect(w(twin3)).not.toEqual(w(model));
    const x = normal([1, 3, 224, 224], 5);
    const converted = await forward(convertCaffe(REF('bvlc_googlenet.prototxt'), undefined, { seed: 3 }), x, ['loss3/classifier']);
    const twin = await forward(twin3, x, ['loss3/classifier']);
    expect(Array.from(converted['loss3/classifier']!.data as Float32Array)).toEqual(Array.from(twin['loss3/classifier']!.data as Float32Array));
  });
});

describe('fc6 generator twin', () => {
  it('reproduces dgn-fc6-generator.prototxt and maps a 4096-d code to a 3x256x256 image of O(1) values', async () => {
    const model = fc6GeneratorTwin({ seed: 2 });
    expectSameLayout(model, parseNet(REF('dgn-fc6-generator.prototxt')));
    expect(model.graph.outputs).toEqual([{ name: 'deconv0', dtype: 'float32', shape: [1, 3, 256, 256] }]);
    const shape = (t: string) => model.graph.valueTypes.get(t)!.shape;
    expect([shape('reshape_defc5'), shape('deconv5'), shape('conv5_1'), shape('deconv3'), shape('deconv1')]).toEqual([
      [1, 256, 4, 4],
      [1, 256, 8, 8],
      [1, 512, 8, 8],
      [1, 128, 32, 32],
      [1, 32, 128, 128],
    ]);
    const out = await forward(model, normal([1, 4096], 7), ['deconv0', 'defc5']);
    for (const t of ['deconv0', 'defc5']) {
      expect(std(out[t]!), t).toBeGreaterThan(1e-2);
      expect(std(out[t]!), t).toBeLessThan(1e2);
    }
  }, 30_000);
});

describe('twin cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fviz-twins-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds a twin file once per seed and reuses it', async () => {
    const p = twinPath('googlenet', { seed: 9, dir });
    expect(p).toBe(join(dir, 'googlenet-v2-seed9.onnx'));
    const mtime = statSync(p).mtimeMs;
    expect(twinPath('googlenet', { seed: 9, dir })).toBe(p);
    expect(statSync(p).mtimeMs).toBe(mtime);
    const loaded = readModel(p);
    const x = normal([1, 3, 224, 224], 1);
    const a = await forward(loaded, x, ['prob']);
    const b = await forward(googlenetTwin({ seed: 9 }), x, ['prob']);
    expect(Array.from(a['prob']!.data as Float32Array)).toEqual(Array.from(b['prob']!.data as Float32Array));
    expect(() => twinPath('alexnet', { dir })).toThrow(/unknown twin 'alexnet': choose one of googlenet, fc6-generator/);
  });
});
