// The converter on the three reference nets, with caffemodels written by the project's writer from random
// weights, checked against forwards computed independently: the hand-written twins (GoogLeNet, fc6
// generator) and a float64 TypeScript forward of CaffeNet written from Caffe's layer definitions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeCaffemodel } from '../src/caffe/caffemodel.ts';
import { caffeAliases, convertCaffe } from '../src/caffe/convert.ts';
import { parseNet } from '../src/caffe/net.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { Session } from '../src/runtime/session.ts';
import { sharedDir } from '../src/shared-path.ts';
import { fc6GeneratorTwin, fc6GeneratorTwinWeights } from '../src/twins/fc6-generator.ts';
import { googlenetTwin, googlenetTwinWeights } from '../src/twins/googlenet.ts';
import type { LayerBlobs } from '../src/twins/init.ts';
import { Rng } from '../src/util/rng.ts';

const REF = (f: string) => readFileSync(join(sharedDir(), 'reference', f), 'utf8');

/** A caffemodel holding `weights` for the layers of a prototxt, in prototxt order. */
function caffemodelFor(prototxt: string, weights: LayerBlobs, format: 'v1' | 'v2'): Uint8Array {
  const net = parseNet(prototxt);
  const layers = net.layers
    .map((l) => ({ name: l.name, type: l.type, bottom: l.bottom, top: l.top, blobs: weights.get(l.name) ?? [] }))
    // V1 has no enum for newer types such as Reshape; their layers hold no blobs anyway.
    .filter((l) => format === 'v2' || l.blobs.length > 0);
  return encodeCaffemodel({ name: net.name, layers }, { format });
}

function withOutputs(m: Model, names: string[]): Model {
  for (const n of names) {
    if (m.graph.outputs.some((o) => o.name === n)) continue;
    const vt = m.graph.valueTypes.get(n);
    if (!vt) throw new Error(`no tensor ${n}`);
    m.graph.outputs.push({ name: n, ...vt });
  }
  return m;
}

async function forward(m: Model, x: TensorData, outputs: string[]): Promise<Record<string, TensorData>> {
  const s = await Session.create(withOutputs(m, outputs), { threads: 2 });
  try {
    return await s.run({ [m.graph.inputs[0]!.name]: x }, outputs);
  } finally {
    await s.release();
  }
}

function input(dims: number[], seed: number, std: number, mean = 0): TensorData {
  const data = new Rng(seed).fillNormal(new Float32Array(dims.reduce((a, b) => a * b, 1)), std, mean);
  return { dtype: 'float32', dims, data };
}

/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

function sortedEntries(o: Record<string, string>): [string, string][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1));
}

describe('Caffe converter against the architecture twins', () => {
  it('BVLC GoogLeNet: V2 caffemodel at batch 1, V1 caffemodel at batch 2, paper names as aliases', async () => {
    const text = REF('bvlc_googlenet.prototxt');
    const weights = googlenetTwinWeights(11);
    const v2 = convertCaffe(text, caffemodelFor(text, weights, 'v2'), { source: 'bvlc_googlenet.prototxt' });
    const twin = googlenetTwin({ weights });

    expect(v2.graph.inputs).toEqual([{ name: 'data', dtype: 'float32', shape: [1, 3, 224, 224] }]);
    expect(v2.graph.outputs.map((o) => [o.name, o.shape])).toEqual([['prob', [1, 1000]]]);
    expect(sortedEntries(caffeAliases(v2))).toEqual(sortedEntries(JSON.parse(twin.metadata['fviz.aliases']!)));
    const aliases = caffeAliases(v2);
    for (const name of ['conv2/3x3', 'inception_4c/output', 'loss3/classifier', 'pool5/7x7_s1']) expect(aliases[name]).toBe(name);
    expect(aliases['conv1/relu_7x7']).toBe('conv1/7x7_s2');
    expect(v2.graph.nodes.filter((n) => n.opType === 'Conv').length).toBe(57);
    expect(v2.graph.nodes.find((n) => n.name === 'inception_4c/output')?.opType).toBe('Concat');

    const shapes = Object.fromEntries(['pool1/3x3_s2', 'pool2/3x3_s2', 'pool3/3x3_s2', 'pool4/3x3_s2', 'inception_4c/output', 'pool5/7x7_s1'].map((n) => [n, v2.graph.valueTypes.get(n)!.shape]));
    expect(shapes).toEqual({
      'pool1/3x3_s2': [1, 64, 56, 56],
      'pool2/3x3_s2': [1, 192, 28, 28],
      'pool3/3x3_s2': [1, 480, 14, 14],
      'pool4/3x3_s2': [1, 832, 7, 7],
      'inception_4c/output': [1, 512, 14, 14],
      'pool5/7x7_s1': [1, 1024, 1, 1],
    });

    const outs = ['prob', 'loss3/classifier', 'inception_4c/output', 'conv2/3x3', 'conv2/3x3__0', 'pool1/norm1', 'inception_3a/pool'];
    // Mean-subtracted pixels are tens in size: large enough that LRN changes the activations noticeably.
    const x1 = input([1, 3, 224, 224], 1, 50);
    const a = await forward(v2, x1, outs);
    const b = await forward(twin, x1, outs);
    for (const o of outs) {
      expect(a[o]!.dims).toEqual(b[o]!.dims);
      expect(relErr(a[o]!.data as Float32Array, b[o]!.data as Float32Array), o).toBeLessThan(1e-4);
    }

    const v1 = convertCaffe(text, caffemodelFor(text, weights, 'v1'), { batch: 2 });
    const x2 = input([2, 3, 224, 224], 2, 50);
    const c = await forward(v1, x2, ['prob', 'loss3/classifier']);
    const d = await forward(googlenetTwin({ weights, batch: 2 }), x2, ['prob', 'loss3/classifier']);
    expect(c['prob']!.dims).toEqual([2, 1000]);
    expect(relErr(c['loss3/classifier']!.data as Float32Array, d['loss3/classifier']!.data as Float32Array)).toBeLessThan(1e-4);
    expect(relErr(c['prob']!.data as Float32Array, d['prob']!.data as Float32Array)).toBeLessThan(1e-4);
  }, 60_000);

  it('fc6 generator: V1 caffemodel (legacy 4-D blob shapes) against the twin', async () => {
    const text = REF('dgn-fc6-generator.prototxt');
    const weights = fc6GeneratorTwinWeights(5);
    const bytes = caffemodelFor(text, weights, 'v1');
    const outs = ['deconv0', 'defc5', 'reshape_defc5', 'conv5_1'];
    // fc6 codes are rectified activations: non-negative.
    const code = input([1, 4096], 3, 1);
    (code.data as Float32Array).forEach((v, i, arr) => (arr[i] = Math.abs(v)));
    const converted = convertCaffe(text, bytes, { source: 'dgn-fc6-generator.prototxt' });
    expect(converted.graph.outputs.map((o) => [o.name, o.shape])).toEqual([['deconv0', [1, 3, 256, 256]]]);
    expect(converted.graph.nodes.filter((n) => n.opType === 'ConvTranspose').length).toBe(9);
    expect(converted.graph.nodes.filter((n) => n.opType === 'LeakyRelu').every((n) => Math.abs(n.attrs['alpha']!.f! - 0.3) < 1e-7)).toBe(true);
    const a = await forward(converted, code, outs);
    const b = await forward(fc6GeneratorTwin({ weights }), code, outs);
    for (const o of outs) expect(relErr(a[o]!.data as Float32Array, b[o]!.data as Float32Array), o).toBeLessThan(1e-4);
  }, 60_000);
});

// ------------------------------------------------------------------ CaffeNet against a float64 forward

interface Act {
  c: number;
  h: number;
  w: number;
  d: Float64Array;
}

function conv(x: Act, wt: Float32Array, bias: Float32Array, cout: number, k: number, s: number, p: number, group: number): Act {
  const cin = x.c / group;
  const oh = Math.floor((x.h + 2 * p - k) / s) + 1;
  const ow = Math.floor((x.w + 2 * p - k) / s) + 1;
  const out = new Float64Array(cout * oh * ow);
  const perGroup = cout / group;
  for (let oc = 0; oc < cout; oc++) {
    const g = Math.floor(oc / perGroup);
    const o = out.subarray(oc * oh * ow, (oc + 1) * oh * ow);
    o.fill(bias[oc]!);
    for (let ic = 0; ic < cin; ic++) {
      const src = x.d.subarray((g * cin + ic) * x.h * x.w);
      for (let ky = 0; ky < k; ky++)
        for (let kx = 0; kx < k; kx++) {
          const wv = wt[((oc * cin + ic) * k + ky) * k + kx]!;
          const x0 = Math.max(0, Math.ceil((p - kx) / s));
          const x1 = Math.min(ow - 1, Math.floor((x.w - 1 + p - kx) / s));
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * s - p + ky;
            if (iy < 0 || iy >= x.h) continue;
            const row = iy * x.w - p + kx;
            const orow = oy * ow;
            for (let ox = x0; ox <= x1; ox++) o[orow + ox]! += wv * src[row + ox * s]!;
          }
        }
    }
  }
  return { c: cout, h: oh, w: ow, d: out };
}

const reluInPlace = (a: Act): Act => {
  a.d.forEach((v, i) => (a.d[i] = v > 0 ? v : 0));
  return a;
};

/** Caffe's MAX pooling: ceil rounding, no padding in these layers. */
function maxPool(x: Act, k: number, s: number): Act {
  const oh = Math.ceil((x.h - k) / s) + 1;
  const ow = Math.ceil((x.w - k) / s) + 1;
  const out = new Float64Array(x.c * oh * ow);
  for (let c = 0; c < x.c; c++)
    for (let py = 0; py < oh; py++)
      for (let px = 0; px < ow; px++) {
        let m = -Infinity;
        for (let y = py * s; y < Math.min(py * s + k, x.h); y++)
          for (let xx = px * s; xx < Math.min(px * s + k, x.w); xx++) m = Math.max(m, x.d[(c * x.h + y) * x.w + xx]!);
        out[(c * oh + py) * ow + px] = m;
      }
  return { c: x.c, h: oh, w: ow, d: out };
}

/** Caffe's LRN across channels: x / (k + alpha/n * sum over n neighbouring channels of x^2)^beta. */
function lrn(x: Act, n: number, alpha: number, beta: number, k = 1): Act {
  const out = new Float64Array(x.d.length);
  const hw = x.h * x.w;
  const half = (n - 1) / 2;
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < hw; i++) {
      let sum = 0;
      for (let j = Math.max(0, c - half); j <= Math.min(x.c - 1, c + half); j++) sum += x.d[j * hw + i]! ** 2;
      out[c * hw + i] = x.d[c * hw + i]! * (k + (alpha / n) * sum) ** -beta;
    }
  return { ...x, d: out };
}

function innerProduct(x: Float64Array, wt: Float32Array, bias: Float32Array, nOut: number): Float64Array {
  const k = x.length;
  const out = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = bias[o]!;
    const row = o * k;
    for (let i = 0; i < k; i++) s += wt[row + i]! * x[i]!;
    out[o] = s;
  }
  return out;
}

describe('Caffe converter against a float64 CaffeNet forward', () => {
  it('CaffeNet (227 input, grouped convs, LRN, ceil pools, fc6-fc8, softmax)', async () => {
    const text = REF('caffenet.prototxt');
    // [layer, weight dims, fan-in]; uniform weights with He variance (cheaper to draw than normals).
    const spec: Array<[string, number[]]> = [
      ['conv1', [96, 3, 11, 11]],
      ['conv2', [256, 48, 5, 5]],
      ['conv3', [384, 256, 3, 3]],
      ['conv4', [384, 192, 3, 3]],
      ['conv5', [256, 192, 3, 3]],
      ['fc6', [4096, 9216]],
      ['fc7', [4096, 4096]],
      ['fc8', [1000, 4096]],
    ];
    const rng = new Rng(99);
    const weights: LayerBlobs = new Map();
    for (const [name, dims] of spec) {
      const fanIn = dims.slice(1).reduce((a, b) => a * b, 1);
      const a = Math.sqrt(3) * Math.sqrt(2 / fanIn);
      const w = new Float32Array(dims.reduce((x, y) => x * y, 1));
      for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * a;
      const b = Float32Array.from({ length: dims[0]! }, () => 0.1 * (2 * rng.next() - 1));
      weights.set(name, [
        { dtype: 'float32', dims, data: w },
        { dtype: 'float32', dims: [dims[0]!], data: b },
      ]);
    }
    const model = convertCaffe(text, caffemodelFor(text, weights, 'v2'), { source: 'caffenet.prototxt' });
    const x = input([1, 3, 227, 227], 4, 50);
    const outs = ['norm1', 'pool5', 'fc6', 'fc8', 'prob'];
    const got = await forward(model, x, outs);

    const W = (n: string, i: number) => weights.get(n)![i]!.data as Float32Array;
    let a: Act = { c: 3, h: 227, w: 227, d: Float64Array.from(x.data as Float32Array) };
    a = reluInPlace(conv(a, W('conv1', 0), W('conv1', 1), 96, 11, 4, 0, 1));
    const norm1 = lrn(maxPool(a, 3, 2), 5, 0.0001, 0.75);
    a = reluInPlace(conv(norm1, W('conv2', 0), W('conv2', 1), 256, 5, 1, 2, 2));
    a = lrn(maxPool(a, 3, 2), 5, 0.0001, 0.75);
    a = reluInPlace(conv(a, W('conv3', 0), W('conv3', 1), 384, 3, 1, 1, 1));
    a = reluInPlace(conv(a, W('conv4', 0), W('conv4', 1), 384, 3, 1, 1, 2));
    a = reluInPlace(conv(a, W('conv5', 0), W('conv5', 1), 256, 3, 1, 1, 2));
    const pool5 = maxPool(a, 3, 2);
    expect([pool5.c, pool5.h, pool5.w]).toEqual([256, 6, 6]);
    const fc6 = innerProduct(pool5.d, W('fc6', 0), W('fc6', 1), 4096).map((v) => Math.max(v, 0));
    const fc7 = innerProduct(fc6, W('fc7', 0), W('fc7', 1), 4096).map((v) => Math.max(v, 0));
    const fc8 = innerProduct(fc7, W('fc8', 0), W('fc8', 1), 1000);
    const mx = Math.max(...fc8);
    const e = fc8.map((v) => Math.exp(v - mx));
    const z = e.reduce((s, v) => s + v, 0);
    const prob = e.map((v) => v / z);

    // LRN must matter at this input scale, or the check would not see a wrong LRN.
    const pooled1 = maxPool(reluInPlace(conv({ c: 3, h: 227, w: 227, d: Float64Array.from(x.data as Float32Array) }, W('conv1', 0), W('conv1', 1), 96, 11, 4, 0, 1)), 3, 2);
    expect(relErr(norm1.d, pooled1.d)).toBeGreaterThan(0.05);

    expect(got['pool5']!.dims).toEqual([1, 256, 6, 6]);
    const ref: Record<string, Float64Array> = { norm1: norm1.d, pool5: pool5.d, fc6, fc8, prob };
    for (const o of outs) expect(relErr(got[o]!.data as Float32Array, ref[o]!), o).toBeLessThan(1e-4);
  }, 60_000);
});

describe('Caffe converter errors', () => {
  const gen = REF('dgn-fc6-generator.prototxt');
  const lines = gen.split('\n').length;

  it('an unknown layer type names the type, the layer and the prototxt line', () => {
    const text = `${gen}\nlayer {\n  name: "weird"\n  type: "Frobnicate"\n  bottom: "deconv0"\n  top: "w"\n}\n`;
    expect(() => convertCaffe(text, undefined, { source: 'gen.prototxt' })).toThrow(
      new RegExp(`^gen\\.prototxt:${lines + 1}: layer 'weird' has type 'Frobnicate', which the Caffe converter does not support.*supported: Input, Convolution, Deconvolution`),
    );
  });

  it('a training layer says to convert the deploy prototxt', () => {
    const text = `${gen}\nlayer { name: "loss" type: "SoftmaxWithLoss" bottom: "deconv0" bottom: "label" }\n`;
    expect(() => convertCaffe(text, undefined, { source: 'train.prototxt' })).toThrow(
      new RegExp(`train\\.prototxt:${lines + 1}: layer 'loss' has type 'SoftmaxWithLoss'.*convert the deploy prototxt`),
    );
  });

  it('missing or misshapen weights name the layer, the file and the shapes', () => {
    const text = 'input: "x"\ninput_shape { dim: 1 dim: 4 }\nlayer {\n name: "fc"\n type: "InnerProduct"\n bottom: "x"\n top: "y"\n inner_product_param { num_output: 3 }\n}\n';
    const other = encodeCaffemodel({ layers: [{ name: 'other', type: 'InnerProduct', blobs: [] }] });
    expect(() => convertCaffe(text, other, { source: 'd.prototxt', weightsSource: 'w.caffemodel' })).toThrow(
      /^d\.prototxt:3: layer 'fc' \(InnerProduct\): w\.caffemodel has no weights for this layer$/,
    );
    const wrong = encodeCaffemodel({
      layers: [{ name: 'fc', type: 'InnerProduct', blobs: [{ dtype: 'float32', dims: [3, 5], data: new Float32Array(15) }, { dtype: 'float32', dims: [3], data: new Float32Array(3) }] }],
    });
    expect(() => convertCaffe(text, wrong, { source: 'd.prototxt', weightsSource: 'w.caffemodel' })).toThrow(
      /d\.prototxt:3: layer 'fc' \(InnerProduct\): w\.caffemodel blob 0 has shape \[3, 5\] but the prototxt needs \[3, 4\]/,
    );
  });

  it('a bottom nobody produced is named', () => {
    const text = 'input: "x"\ninput_shape { dim: 1 dim: 4 }\nlayer { name: "r" type: "ReLU" bottom: "nope" top: "r" }\n';
    expect(() => convertCaffe(text, undefined, { source: 'd.prototxt' })).toThrow(/d\.prototxt:3: layer 'r' \(ReLU\): bottom 'nope' is not produced by any earlier layer or input/);
  });
});
