// Receptive fields from the graph against the ones measured by perturbing single input pixels, and the
// GoogLeNet chain worked by hand.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { cropBox, receptiveField } from '../src/analysis/scan-rf.ts';
import { loadModel } from '../src/onnx/prepare.ts';
import { twinPath } from '../src/twins/cache.ts';
import { randomWeights } from './helpers/models.ts';

const SIDE = 24;

/** Conv/pool chain with padding, strides, a dilated branch, an average pool, a concat and a Pad op. */
function rfNet() {
  const rng = new Rng(4);
  const g = emptyGraph('rf');
  const b = new GraphBuilder(g);
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 3, SIDE, SIDE] });
  const w = (name: string, dims: number[]) => {
    g.initializers.set(name, randomWeights(rng, dims));
    return name;
  };
  b.node('Conv', ['x', w('w1', [4, 3, 3, 3])], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }, ['c1']);
  b.node('Tanh', ['c1'], {}, ['t1']);
  b.node('MaxPool', ['t1'], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }, ['p1']);
  b.node('Conv', ['p1', w('wa', [3, 4, 1, 1])], { kernel_shape: { ints: [1, 1] } }, ['a']);
  b.node('Conv', ['p1', w('wb', [3, 4, 3, 3])], { kernel_shape: { ints: [3, 3] }, dilations: { ints: [2, 2] }, pads: { ints: [2, 2, 2, 2] } }, ['bconv']);
  b.node('Tanh', ['bconv'], {}, ['bt']);
  b.node('AveragePool', ['p1'], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }, ['cpool']);
  b.node('Concat', ['a', 'bt', 'cpool'], { axis: { i: 1 } }, ['cat']);
  g.initializers.set('pads', tensor('int64', [8], [0, 0, 1, 0, 0, 0, 0, 1]));
  b.node('Pad', ['cat', 'pads'], {}, ['padded']);
  b.node('Conv', ['padded', w('w2', [5, 10, 3, 3])], { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] } }, ['c2']);
  b.node('Tanh', ['c2'], {}, ['out']);
  g.outputs = [{ name: 'out', dtype: 'float32', shape: [] }];
  return prepareModel(emptyModel(g));
}

/** For each position of `layer`: the bounding box [y0, x0, y1, x1) of input pixels whose change moves any channel there. */
async function measuredBoxes(layer: string): Promise<{ boxes: number[][]; w: number; h: number }> {
  const m = rfNet();
  const t = m.graph.valueTypes.get(layer)!;
  const [, C, h, w] = t.shape as number[];
  m.graph.outputs = [{ name: layer, dtype: 'float32', shape: t.shape }];
  const P = SIDE * SIDE;
  // Item 0: the base image; items 1 + 2p and 2 + 2p: pixel p (all channels) pushed up and down.
  const n = 1 + 2 * P;
  const batched = prepareModel(emptyModel({ ...m.graph, inputs: [{ name: 'x', dtype: 'float32', shape: [n, 3, SIDE, SIDE] }] }));
  batched.graph.outputs = [{ name: layer, dtype: 'float32', shape: [n, C!, h!, w!] }];
  const base = new Rng(8).fillUniform(new Float32Array(3 * P), 0, 1);
  const x = new Float32Array(n * 3 * P);
  for (let k = 0; k < n; k++) x.set(base, k * 3 * P);
  for (let p = 0; p < P; p++)
    for (let c = 0; c < 3; c++) {
      x[(1 + 2 * p) * 3 * P + c * P + p]! += 5;
      x[(2 + 2 * p) * 3 * P + c * P + p]! -= 5;
    }
  const s = await Session.create(batched, { threads: 1 });
  const y = (await s.run({ x: { dtype: 'float32', dims: [n, 3, SIDE, SIDE], data: x } }))[layer]!.data as Float32Array;
  await s.release();
  const per = C! * h! * w!;
  const boxes: number[][] = [];
  for (let pos = 0; pos < h! * w!; pos++) {
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    for (let p = 0; p < P; p++) {
      let moved = false;
      for (const item of [1 + 2 * p, 2 + 2 * p])
        for (let c = 0; c < C! && !moved; c++) if (Math.abs(y[item * per + c * h! * w! + pos]! - y[c * h! * w! + pos]!) > 1e-6) moved = true;
      if (!moved) continue;
      const py = Math.floor(p / SIDE);
      const px = p % SIDE;
      box[0] = Math.min(box[0]!, py);
      box[1] = Math.min(box[1]!, px);
      box[2] = Math.max(box[2]!, py + 1);
      box[3] = Math.max(box[3]!, px + 1);
    }
    boxes.push(box);
  }
  return { boxes, w: w!, h: h! };
}

describe('receptive fields', () => {
  it('match the input pixels that move each position, through pads, strides, dilation, pools, concat and Pad', async () => {
    const m = rfNet();
    for (const layer of ['t1', 'p1', 'cat', 'out']) {
      const rf = receptiveField(m, layer)!;
      expect(rf).toBeDefined();
      const { boxes, w } = await measuredBoxes(layer);
      boxes.forEach((box, pos) => expect(cropBox(rf, pos, w, SIDE, SIDE)).toEqual(box));
    }
    // By hand: c1 3; p1 3+2=5 (stride 2); the dilated branch 5+4*2=13; Pad moves the top edge up 1 row
    // (2 px); c2 13+2*2=17 at stride 4, its centre one input step (2 px) in from the padded corner.
    expect(receptiveField(m, 'out')).toEqual({ size: [17, 17], stride: [4, 4], start: [0, 2] });
  });

  it('follow the GoogLeNet chain (7x7/2, pool 3/2, 3x3, pool 3/2, 5x5 branches, ...)', () => {
    const m = loadModel(twinPath('googlenet'), { batch: 1 });
    const size = (t: string) => receptiveField(m, t)?.size[0];
    expect(size('conv1/7x7_s2')).toBe(7);
    expect(size('pool1/3x3_s2')).toBe(11);
    expect(size('conv2/3x3')).toBe(19);
    expect(size('pool2/3x3_s2')).toBe(27);
    // The 5x5 branch is the widest: 27 + 4 * 8.
    expect(size('inception_3a/output')).toBe(59);
    expect(size('inception_4c/output')).toBe(299);
    expect(receptiveField(m, 'inception_4c/output')!.stride).toEqual([16, 16]);
    // pool5 is a 7x7 average pool (a window, wider than the image); the classifier (Gemm) sees everything.
    expect(size('pool5/7x7_s1')).toBeGreaterThan(224);
    expect(receptiveField(m, 'loss3/classifier')).toBeUndefined();
  });
});
