// Layer lowerings on small nets against float64 forwards written from Caffe's layer code: convolution
// variants, deconvolution (Caffe's weight layout), pooling rounding and padding rules, and the rest.
import { describe, expect, it } from 'vitest';
import { encodeCaffemodel } from '../src/caffe/caffemodel.ts';
import { caffeAliases, convertCaffe } from '../src/caffe/convert.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';

interface Nd {
  dims: number[];
  d: Float64Array;
}

const prod = (a: number[]) => a.reduce((x, y) => x * y, 1);

function randn(dims: number[], seed: number, std = 1): Float32Array {
  return new Rng(seed).fillNormal(new Float32Array(prod(dims)), std);
}

async function run(m: Model, feeds: Record<string, Float32Array>, outputs: string[]): Promise<Record<string, TensorData>> {
  for (const n of outputs) if (!m.graph.outputs.some((o) => o.name === n)) m.graph.outputs.push({ name: n, ...m.graph.valueTypes.get(n)! });
  const s = await Session.create(m, { threads: 1 });
  try {
    const f: Record<string, TensorData> = {};
    for (const i of m.graph.inputs) f[i.name] = { dtype: 'float32', dims: i.shape as number[], data: feeds[i.name]! };
    return await s.run(f, outputs);
  } finally {
    await s.release();
  }
}

function expectClose(got: TensorData, want: Nd, tol = 1e-5): void {
  expect(got.dims).toEqual(want.dims);
  const g = got.data as Float32Array;
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < g.length; i++) {
    diff = Math.max(diff, Math.abs(g[i]! - want.d[i]!));
    scale = Math.max(scale, Math.abs(want.d[i]!));
  }
  expect(diff / scale).toBeLessThan(tol);
}

const blob = (dims: number[], data: Float32Array): TensorData => ({ dtype: 'float32', dims, data });

// ------------------------------------------------------------------ float64 references after Caffe's layers

/** Caffe Convolution (im2col semantics): out[n][oc][oy][ox] = b + sum w[oc][ic][ky][kx] x[n][g*cin+ic][oy*s-p+ky*d][ox*s-p+kx*d]. */
function conv(x: Nd, w: Float32Array, b: Float32Array | undefined, cout: number, k: number[], s: number[], p: number[], d: number[], group: number): Nd {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const cin = c / group;
  const oh = Math.floor((h + 2 * p[0]! - (d[0]! * (k[0]! - 1) + 1)) / s[0]!) + 1;
  const ow = Math.floor((wd + 2 * p[1]! - (d[1]! * (k[1]! - 1) + 1)) / s[1]!) + 1;
  const out = new Float64Array(n * cout * oh * ow);
  for (let bi = 0; bi < n; bi++)
    for (let oc = 0; oc < cout; oc++) {
      const g = Math.floor(oc / (cout / group));
      for (let oy = 0; oy < oh; oy++)
        for (let ox = 0; ox < ow; ox++) {
          let acc = b ? b[oc]! : 0;
          for (let ic = 0; ic < cin; ic++)
            for (let ky = 0; ky < k[0]!; ky++)
              for (let kx = 0; kx < k[1]!; kx++) {
                const iy = oy * s[0]! - p[0]! + ky * d[0]!;
                const ix = ox * s[1]! - p[1]! + kx * d[1]!;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                acc += w[((oc * cin + ic) * k[0]! + ky) * k[1]! + kx]! * x.d[((bi * c + g * cin + ic) * h + iy) * wd + ix]!;
              }
          out[((bi * cout + oc) * oh + oy) * ow + ox] = acc;
        }
    }
  return { dims: [n, cout, oh, ow], d: out };
}

/** Caffe Deconvolution (col2im of the conv backward): weights (C_in, C_out/group, kh, kw), each input pixel scatters. */
function deconv(x: Nd, w: Float32Array, b: Float32Array, cout: number, k: number, s: number, p: number, group: number): Nd {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const oh = (h - 1) * s - 2 * p + k;
  const ow = (wd - 1) * s - 2 * p + k;
  const coutG = cout / group;
  const cinG = c / group;
  const out = new Float64Array(n * cout * oh * ow);
  for (let bi = 0; bi < n; bi++)
    for (let oc = 0; oc < cout; oc++) out.fill(b[oc]!, ((bi * cout + oc) * oh) * ow, ((bi * cout + oc + 1) * oh) * ow);
  for (let bi = 0; bi < n; bi++)
    for (let ic = 0; ic < c; ic++) {
      const g = Math.floor(ic / cinG);
      for (let j = 0; j < coutG; j++) {
        const oc = g * coutG + j;
        for (let iy = 0; iy < h; iy++)
          for (let ix = 0; ix < wd; ix++) {
            const v = x.d[((bi * c + ic) * h + iy) * wd + ix]!;
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const oy = iy * s - p + ky;
                const ox = ix * s - p + kx;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                out[((bi * cout + oc) * oh + oy) * ow + ox]! += w[((ic * coutG + j) * k + ky) * k + kx]! * v;
              }
          }
      }
    }
  return { dims: [n, cout, oh, ow], d: out };
}

interface PoolGeom {
  k: [number, number];
  s: [number, number];
  p: [number, number];
  floor?: boolean;
}

/** Caffe PoolingLayer::Reshape + Forward_cpu for MAX and AVE. */
function caffePool(x: Nd, method: 'MAX' | 'AVE', g: PoolGeom): Nd {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const size = (len: number, i: 0 | 1) => {
    const r = (len + 2 * g.p[i] - g.k[i]) / g.s[i];
    let o = (g.floor ? Math.floor(r) : Math.ceil(r)) + 1;
    if ((g.p[0] || g.p[1]) && (o - 1) * g.s[i] >= len + g.p[i]) o--;
    return o;
  };
  const oh = size(h, 0);
  const ow = size(w, 1);
  const out = new Float64Array(n * c * oh * ow);
  for (let bc = 0; bc < n * c; bc++)
    for (let py = 0; py < oh; py++)
      for (let px = 0; px < ow; px++) {
        let hs = py * g.s[0] - g.p[0];
        let ws = px * g.s[1] - g.p[1];
        let he = Math.min(hs + g.k[0], h + g.p[0]);
        let we = Math.min(ws + g.k[1], w + g.p[1]);
        const poolSize = (he - hs) * (we - ws);
        hs = Math.max(hs, 0);
        ws = Math.max(ws, 0);
        he = Math.min(he, h);
        we = Math.min(we, w);
        let acc = method === 'MAX' ? -Infinity : 0;
        for (let y = hs; y < he; y++)
          for (let xx = ws; xx < we; xx++) {
            const v = x.d[(bc * h + y) * w + xx]!;
            acc = method === 'MAX' ? Math.max(acc, v) : acc + v;
          }
        out[(bc * oh + py) * ow + px] = method === 'MAX' ? acc : acc / poolSize;
      }
  return { dims: [n, c, oh, ow], d: out };
}

const f64 = (dims: number[], a: Float32Array): Nd => ({ dims, d: Float64Array.from(a) });

// ------------------------------------------------------------------ tests

describe('Convolution and Deconvolution lowerings', () => {
  it('dilation, kernel_h/w, stride_h/w, pad_h/w, group, no bias; grouped and plain deconvolution', async () => {
    const text = `input: "data"
input_shape { dim: 2 dim: 4 dim: 9 dim: 11 }
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1"
  convolution_param { num_output: 6 kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 2 dilation: 2 group: 2 bias_term: false } }
layer { name: "d1" type: "Deconvolution" bottom: "c1" top: "d1" convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 1 group: 2 } }
layer { name: "d2" type: "Deconvolution" bottom: "d1" top: "d2" convolution_param { num_output: 3 kernel_size: 4 stride: 2 pad: 1 } }
`;
    const w = {
      c1: randn([6, 2, 3, 2], 1),
      d1: randn([6, 2, 3, 3], 2),
      d1b: randn([4], 3),
      d2: randn([4, 3, 4, 4], 4),
      d2b: randn([3], 5),
    };
    const bytes = encodeCaffemodel({
      layers: [
        { name: 'c1', type: 'Convolution', blobs: [blob([6, 2, 3, 2], w.c1)] },
        { name: 'd1', type: 'Deconvolution', blobs: [blob([6, 2, 3, 3], w.d1), blob([4], w.d1b)] },
        { name: 'd2', type: 'Deconvolution', blobs: [blob([4, 3, 4, 4], w.d2), blob([3], w.d2b)] },
      ],
    });
    const x = randn([2, 4, 9, 11], 6);
    const got = await run(convertCaffe(text, bytes), { data: x }, ['c1', 'd1', 'd2']);
    const c1 = conv(f64([2, 4, 9, 11], x), w.c1, undefined, 6, [3, 2], [2, 1], [1, 2], [2, 2], 2);
    expect(c1.dims).toEqual([2, 6, 4, 13]);
    const d1 = deconv(c1, w.d1, w.d1b, 4, 3, 2, 1, 2);
    const d2 = deconv(d1, w.d2, w.d2b, 3, 4, 2, 1, 1);
    expect(d2.dims).toEqual([2, 3, 14, 50]);
    expectClose(got['c1']!, c1);
    expectClose(got['d1']!, d1);
    expectClose(got['d2']!, d2);
  });
});

describe('Pooling lowering follows Caffe rounding', () => {
  const cases: Array<[string, number, number, PoolGeom, number, number]> = [
    // name, H, W, geometry, expected output H, W
    ['pad and ceil overhang', 6, 6, { k: [3, 3], s: [2, 2], p: [1, 1] }, 4, 4],
    ['last window would start in the padding', 5, 5, { k: [2, 2], s: [2, 2], p: [1, 1] }, 3, 3],
    ['ceil overhang without pad', 7, 8, { k: [3, 3], s: [2, 2], p: [0, 0] }, 3, 4],
    ['pad, windows fit', 7, 7, { k: [3, 3], s: [2, 2], p: [1, 1] }, 4, 4],
    ["asymmetric kernel, stride and pad (Caffe drops a width window: pad_h makes the rule apply)", 6, 9, { k: [3, 2], s: [2, 3], p: [1, 0] }, 4, 3],
    ['round_mode FLOOR', 8, 8, { k: [3, 3], s: [2, 2], p: [0, 0], floor: true }, 3, 3],
  ];
  for (const [name, h, w, g, eh, ew] of cases)
    for (const method of ['MAX', 'AVE'] as const)
      it(`${method}: ${name}`, async () => {
        const geom =
          g.k[0] === g.k[1] && g.s[0] === g.s[1] && g.p[0] === g.p[1]
            ? `kernel_size: ${g.k[0]} stride: ${g.s[0]} pad: ${g.p[0]}`
            : `kernel_h: ${g.k[0]} kernel_w: ${g.k[1]} stride_h: ${g.s[0]} stride_w: ${g.s[1]} pad_h: ${g.p[0]} pad_w: ${g.p[1]}`;
        const text = `input: "x" input_shape { dim: 2 dim: 3 dim: ${h} dim: ${w} }
layer { name: "p" type: "Pooling" bottom: "x" top: "p" pooling_param { pool: ${method} ${geom} ${g.floor ? 'round_mode: FLOOR' : ''} } }`;
        const x = randn([2, 3, h, w], h * 31 + w);
        const got = await run(convertCaffe(text, undefined), { x }, ['p']);
        const want = caffePool(f64([2, 3, h, w], x), method, g);
        expect(want.dims).toEqual([2, 3, eh, ew]);
        expectClose(got['p']!, want, 1e-6);
      });

  it('global pooling, MAX and AVE', async () => {
    const text = `input: "x" input_shape { dim: 1 dim: 2 dim: 3 dim: 5 }
layer { name: "m" type: "Pooling" bottom: "x" top: "m" pooling_param { pool: MAX global_pooling: true } }
layer { name: "a" type: "Pooling" bottom: "x" top: "a" pooling_param { pool: AVE global_pooling: true } }`;
    const x = randn([1, 2, 3, 5], 8);
    const got = await run(convertCaffe(text, undefined), { x }, ['m', 'a']);
    expectClose(got['m']!, caffePool(f64([1, 2, 3, 5], x), 'MAX', { k: [3, 5], s: [1, 1], p: [0, 0] }));
    expectClose(got['a']!, caffePool(f64([1, 2, 3, 5], x), 'AVE', { k: [3, 5], s: [1, 1], p: [0, 0] }));
  });
});

describe('other layers', () => {
  it('InnerProduct + in-place leaky ReLU, Reshape following the batch, Split, Power, Eltwise, Concat, Crop, TanH, Flatten, Softmax, LRN within channel', async () => {
    const text = `name: "misc"
input: "a"
input_shape { dim: 1 dim: 8 }
layer { name: "fc" type: "InnerProduct" bottom: "a" top: "fc" inner_product_param { num_output: 16 } }
layer { name: "lrelu" type: "ReLU" bottom: "fc" top: "fc" relu_param { negative_slope: 0.1 } }
layer { name: "rs" type: "Reshape" bottom: "fc" top: "rs" reshape_param { shape { dim: 1 dim: 4 dim: 2 dim: -1 } } }
layer { name: "sp" type: "Split" bottom: "rs" top: "s1" top: "s2" }
layer { name: "pw" type: "Power" bottom: "s1" top: "pw" power_param { power: 2 scale: 0.5 shift: 1 } }
layer { name: "el" type: "Eltwise" bottom: "pw" bottom: "s2" top: "el" eltwise_param { operation: SUM coeff: 2 coeff: -1 } }
layer { name: "mx" type: "Eltwise" bottom: "el" bottom: "s2" top: "mx" eltwise_param { operation: MAX } }
layer { name: "pr" type: "Eltwise" bottom: "mx" bottom: "s1" top: "pr" eltwise_param { operation: PROD } }
layer { name: "cat" type: "Concat" bottom: "pr" bottom: "s2" top: "cat" }
layer { name: "ref" type: "Pooling" bottom: "cat" top: "ref" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "crop" type: "Crop" bottom: "cat" bottom: "ref" top: "crop" crop_param { axis: 2 offset: 1 } }
layer { name: "th" type: "TanH" bottom: "crop" top: "th" }
layer { name: "fl" type: "Flatten" bottom: "th" top: "fl" }
layer { name: "sm" type: "Softmax" bottom: "fl" top: "sm" }
layer { name: "lrn" type: "LRN" bottom: "cat" top: "lrn" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 norm_region: WITHIN_CHANNEL } }
`;
    const B = 3;
    const W = randn([16, 8], 10, 0.5);
    const bias = randn([16], 11, 0.1);
    const model = convertCaffe(text, encodeCaffemodel({ layers: [{ name: 'fc', type: 'InnerProduct', blobs: [blob([16, 8], W), blob([16], bias)] }] }), { batch: B });
    expect(model.graph.inputs[0]!.shape).toEqual([B, 8]);
    expect(model.graph.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['sm', [B, 8]],
      ['lrn', [B, 8, 2, 2]],
    ]);
    const aliases = caffeAliases(model);
    expect(aliases['fc']).toBe('fc');
    expect(aliases['lrelu']).toBe('fc');
    expect(model.graph.valueTypes.has('fc__0')).toBe(true);
    const a = randn([B, 8], 12);
    const got = await run(model, { a }, ['fc__0', 'fc', 'cat', 'crop', 'sm', 'lrn']);

    // Per sample: fc (16) -> leaky -> [4,2,2] -> ...
    const fc0 = new Float64Array(B * 16);
    for (let n = 0; n < B; n++)
      for (let o = 0; o < 16; o++) {
        let s = bias[o]!;
        for (let i = 0; i < 8; i++) s += W[o * 8 + i]! * a[n * 8 + i]!;
        fc0[n * 16 + o] = s;
      }
    const fc = fc0.map((v) => (v > 0 ? v : 0.1 * v));
    const pr = fc.map((s) => {
      const pw = (1 + 0.5 * s) ** 2;
      const el = 2 * pw - s;
      return Math.max(el, s) * s;
    });
    const cat = new Float64Array(B * 32);
    for (let n = 0; n < B; n++) {
      cat.set(pr.subarray(n * 16, n * 16 + 16), n * 32);
      cat.set(fc.subarray(n * 16, n * 16 + 16), n * 32 + 16);
    }
    // Crop to the 1x1 reference at offset 1: element [1][1] of each 2x2 channel.
    const crop = new Float64Array(B * 8);
    for (let i = 0; i < B * 8; i++) crop[i] = cat[i * 4 + 3]!;
    const sm = new Float64Array(B * 8);
    for (let n = 0; n < B; n++) {
      const t = Array.from(crop.subarray(n * 8, n * 8 + 8), Math.tanh);
      const z = t.reduce((s, v) => s + Math.exp(v), 0);
      t.forEach((v, i) => (sm[n * 8 + i] = Math.exp(v) / z));
    }
    // WITHIN_CHANNEL: x / (1 + alpha/size^2 * sum of squares in a 3x3 zero-padded window)^beta.
    const lrn = new Float64Array(B * 32);
    for (let ch = 0; ch < B * 8; ch++)
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 2; x++) {
          let s = 0;
          for (let yy = y - 1; yy <= y + 1; yy++) for (let xx = x - 1; xx <= x + 1; xx++) if (yy >= 0 && yy < 2 && xx >= 0 && xx < 2) s += cat[ch * 4 + yy * 2 + xx]! ** 2;
          lrn[ch * 4 + y * 2 + x] = cat[ch * 4 + y * 2 + x]! * (1 + (0.5 / 9) * s) ** -0.75;
        }
    expectClose(got['fc__0']!, { dims: [B, 16], d: fc0 });
    expectClose(got['fc']!, { dims: [B, 16], d: fc });
    expectClose(got['cat']!, { dims: [B, 8, 2, 2], d: cat });
    expectClose(got['crop']!, { dims: [B, 8, 1, 1], d: crop });
    expectClose(got['sm']!, { dims: [B, 8], d: sm });
    expectClose(got['lrn']!, { dims: [B, 8, 2, 2], d: lrn });
  });

  it('a legacy V1 prototxt (layers, enum types, input_dim) converts like its V2 form with an Input layer', async () => {
    const v1 = `input: "data"
input_dim: 1 input_dim: 2 input_dim: 5 input_dim: 5
layers { name: "c" type: CONVOLUTION bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 } }
layers { name: "r" type: RELU bottom: "c" top: "c" }
layers { name: "p" type: POOLING bottom: "c" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "f" type: INNER_PRODUCT bottom: "p" top: "f" inner_product_param { num_output: 4 } }
layers { name: "d" type: DROPOUT bottom: "f" top: "f" dropout_param { dropout_ratio: 0.5 } }`;
    const v2 = `layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "r" type: "ReLU" bottom: "c" top: "c" }
layer { name: "p" type: "Pooling" bottom: "c" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "f" type: "InnerProduct" bottom: "p" top: "f" inner_product_param { num_output: 4 } }
layer { name: "d" type: "Dropout" bottom: "f" top: "f" }`;
    const m1 = convertCaffe(v1, undefined, { seed: 4 });
    const m2 = convertCaffe(v2, undefined, { seed: 4 });
    expect(m1.graph.nodes.map((n) => [n.name, n.opType])).toEqual(m2.graph.nodes.map((n) => [n.name, n.opType]));
    expect(m1.graph.outputs.map((o) => [o.name, o.shape])).toEqual([['f', [1, 4]]]);
    const x = randn([1, 2, 5, 5], 9);
    const [o1, o2] = [await run(m1, { data: x }, ['f']), await run(m2, { data: x }, ['f'])];
    expect(Array.from(o1['f']!.data as Float32Array)).toEqual(Array.from(o2['f']!.data as Float32Array));
    // The pooled 3x3 map is 2x2 under Caffe's ceil rounding (1x1 with floor).
    expect(m1.graph.valueTypes.get('p')!.shape).toEqual([1, 3, 2, 2]);
  });
});
