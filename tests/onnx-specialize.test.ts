// Specializing dynamic models to the input size in use: shape-computing subgraphs (ViT's Shape -> Gather
// -> Concat -> Reshape, Swin's window padding with Mod, its shifted-window mask built with ScatterND) fold
// to constants and every value gets a static shape; what cannot be pinned down says why in one line.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/onnx/builder.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { emptyGraph, emptyModel, sizeOf } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { fullyStatic, prepareModel } from '../src/onnx/prepare.ts';
import { appendObjective } from '../src/optvis/objectives/build.ts';
import { imageInput, layoutOf } from '../src/onnx/specialize.ts';
import { FvizError } from '../src/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { maxAbsDiff, runModel } from './helpers/models.ts';
import { imageModel } from './helpers/image-models.ts';

const rng = new Rng(21);
const randn = (dims: number[]): TensorData => tensor('float32', dims, Array.from({ length: sizeOf(dims) }, () => rng.normal()));

function model(build: (b: GraphBuilder) => string[], inputs: { name: string; shape: (number | string)[] }[]): Model {
  const g = emptyGraph('t');
  g.inputs = inputs.map((i) => ({ name: i.name, dtype: 'float32', shape: [...i.shape] }));
  const b = new GraphBuilder(g);
  g.outputs = build(b).map((name) => ({ name, dtype: 'float32', shape: [] }));
  const m = emptyModel(g, 13);
  m.irVersion = 7;
  return m;
}

const i64 = (b: GraphBuilder, dims: number[], v: number[]) => b.constant(tensor('int64', dims, v));

describe('folding the integer arithmetic of shape subgraphs', () => {
  it('Mod (fmod 0: sign of the divisor; fmod 1: of the dividend), Pow and ScatterND fold to what onnxruntime computes', async () => {
    const m = model((b) => {
      const a = i64(b, [4], [7, -7, 7, -7]);
      const d = i64(b, [4], [3, 3, -3, -3]);
      const py = b.op('Cast', [b.op('Mod', [a, d])], { to: { i: 1 } });
      const c = b.op('Cast', [b.op('Mod', [a, d], { fmod: { i: 1 } })], { to: { i: 1 } });
      const p = b.op('Pow', [b.constant(tensor('float32', [3], [2, 9, 0.5])), b.constant(tensor('float32', [3], [3, 0.5, -2]))]);
      const zeros = b.constant(tensor('float32', [3, 4], new Array(12).fill(0)));
      const s1 = b.op('ScatterND', [zeros, i64(b, [2, 1], [2, 0]), b.constant(tensor('float32', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]))]);
      const s2 = b.op('ScatterND', [s1, i64(b, [2, 2], [1, 1, -1, 3]), b.constant(tensor('float32', [2], [9, 10]))]);
      // Each folded value reaches an output through a node that reads the input, so it is folded, not output.
      return [py, c, p, s2].map((v) => b.op('Add', ['x', v]));
    }, [{ name: 'x', shape: [1] }]);
    const p = prepareModel(m);
    expect(p.graph.nodes.map((n) => n.opType)).toEqual(['Add', 'Add', 'Add', 'Add']);
    const x = tensor('float32', [1], [0]);
    const want = await runModel(m, { x });
    const got = await runModel(p, { x });
    for (const o of m.graph.outputs) expect(maxAbsDiff(got[o.name]!, want[o.name]!)).toBeLessThan(1e-6);
    expect(Array.from(want[m.graph.outputs[0]!.name]!.data as Float32Array)).toEqual([1, 2, -2, -1]);
    expect(Array.from(want[m.graph.outputs[1]!.name]!.data as Float32Array)).toEqual([1, -1, 1, -1]);
  });
});

describe('dynamic models specialized to the size in use', () => {
  /** Swin's patch-merging pad: pad_b = (4 - H % 4) % 4, pad_r likewise, computed from the input's shape. */
  function swinPad(): Model {
    return model((b) => {
      const shape = b.op('Shape', ['x']);
      const hw = b.op('Gather', [shape, i64(b, [2], [2, 3])], { axis: { i: 0 } });
      const four = i64(b, [], [4]);
      const pads = b.op('Mod', [b.op('Sub', [four, b.op('Mod', [hw, four])]), four]);
      const full = b.op('Concat', [i64(b, [6], [0, 0, 0, 0, 0, 0]), pads], { axis: { i: 0 } });
      const padded = b.op('Pad', ['x', full]);
      // windows: [N, C, H/4, 4, W/4, 4] from the padded shape, as exporters compute it
      const ps = b.op('Shape', [padded]);
      const nc = b.op('Slice', [ps, i64(b, [1], [0]), i64(b, [1], [2])]);
      const h4 = b.op('Div', [b.op('Gather', [ps, i64(b, [1], [2])], { axis: { i: 0 } }), i64(b, [1], [4])]);
      const w4 = b.op('Div', [b.op('Gather', [ps, i64(b, [1], [3])], { axis: { i: 0 } }), i64(b, [1], [4])]);
      const target = b.op('Concat', [nc, h4, i64(b, [1], [4]), w4, i64(b, [1], [4])], { axis: { i: 0 } });
      const win = b.op('Reshape', [padded, target]);
      return [b.op('Tanh', [b.op('Transpose', [win], { perm: { ints: [0, 1, 2, 4, 3, 5] } })])];
    }, [{ name: 'x', shape: ['batch', 2, 'height', 'width'] }]);
  }

  it("Swin's window padding: static after specialization, no shape arithmetic left, onnxruntime's values", async () => {
    const m = swinPad();
    m.graph.outputs[0]!.shape = ['n', 'c', 'h', 'w', 'wh', 'ww'];
    const p = prepareModel(m, { batch: 1, size: [10, 7] });
    expect(fullyStatic(p)).toBe(true);
    expect(p.graph.outputs[0]!.shape).toEqual([1, 2, 3, 2, 4, 4]);
    expect(p.graph.nodes.map((n) => n.opType).sort()).toEqual(['Pad', 'Reshape', 'Tanh', 'Transpose']);
    const x = randn([1, 2, 10, 7]);
    const o = m.graph.outputs[0]!.name;
    expect(maxAbsDiff((await runModel(p, { x }))[o]!, (await runModel(m, { x }))[o]!)).toBe(0);
  });

  it('named and unnamed dynamic dims (batch, height, width) are fixed from batch and size', async () => {
    for (const shape of [['batch', 3, 'height', 'width'], ['', 3, '', '']]) {
      const m = imageModel({ shape });
      const p = prepareModel(m, { batch: 2, size: [12, 9] });
      expect(fullyStatic(p)).toBe(true);
      expect(p.graph.inputs[0]!.shape).toEqual([2, 3, 12, 9]);
      expect(p.graph.nodes.map((n) => n.opType)).not.toContain('Shape');
      const x = randn([2, 3, 12, 9]);
      expect(maxAbsDiff((await runModel(p, { image: x })).logits!, (await runModel(m, { image: x })).logits!)).toBeLessThan(1e-6);
    }
  });

  it('layout: NCHW unless only the last axis holds the channels', () => {
    expect(layoutOf(['n', 3, 'h', 'w'])).toBe('NCHW');
    expect(layoutOf([1, 224, 224, 3])).toBe('NHWC');
    expect(layoutOf(['n', 'h', 'w', 3])).toBe('NHWC');
    expect(imageInput(imageModel({ shape: [1, 40, 40, 3], layout: 'NHWC' }))).toMatchObject({ layout: 'NHWC', height: 40, width: 40 });
  });
});

describe('a value without a static shape says why', () => {
  function message(f: () => unknown): string {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(FvizError);
      return (e as Error).message;
    }
    throw new Error('expected an error');
  }

  it('a dynamic input size: names the input, its dynamic axes and --size', () => {
    const p = prepareModel(imageModel({ shape: ['batch', 3, 'height', 'width'] }), { batch: 1 });
    const msg = message(() => appendObjective(p, 'conv_out0:1'));
    expect(msg).toMatch(/^tensor 'conv_out0' has no static shape .* because input 'image' \[1,3,height,width\] has dynamic dims \(height, width\): pass --size N/);
    expect(msg).not.toMatch(/batch size/);
  });

  it('static inputs: names the node where inference gave up, as fviz\'s gap', () => {
    // A reshape whose target is computed from the input's values: no static shape for any input size.
    const m = model((b) => {
      const target = b.op('Cast', [b.op('Abs', ['s'])], { to: { i: 7 } });
      return [b.op('Reshape', ['x', target], {}, 'reshaped')];
    }, [{ name: 'x', shape: [1, 6] }, { name: 's', shape: [2] }]);
    const p = prepareModel(m);
    const out = p.graph.outputs[0]!.name;
    const msg = message(() => appendObjective(p, `${out}:0`));
    expect(msg).toMatch(/gave up at node 'reshaped_node' \(Reshape\), which makes \[.*\] from \[1,6\], \[2\]; this is a gap in fviz/);
  });
});
