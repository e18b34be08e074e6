// Compile-time graph rewrites (src/autodiff/rewrites): each rewritten graph computes the same outputs as
// the original (run by onnxruntime, float32, relative 1e-5 of the output's largest magnitude), keeps the
// values it must keep, and its compiled gradient matches central finite differences.
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/onnx/builder.ts';
import type { AttrValue, Model, TensorData } from '../src/onnx/ir.ts';
import { cloneModel, sizeOf } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { Session } from '../src/runtime/session.ts';
import { compileFused } from '../src/autodiff/compile.ts';
import { convTransposeAsConv } from '../src/autodiff/rewrites/convTransposeAsConv.ts';
import { reluAfterConcat } from '../src/autodiff/rewrites/reluAfterConcat.ts';
import { compileSplit, GRAPH_REWRITES } from '../src/autodiff/compile.ts';
import { subPixelConvTranspose } from '../src/autodiff/rewrites/subPixelConvTranspose.ts';
import { Rng } from '../src/util/rng.ts';
import { buildModel, checkCase, type CheckInput } from './helpers/gradcheck.ts';

const ints = (v: number[]): AttrValue => ({ ints: v });

function randomValues(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.normal());
}

function randomFeeds(inputs: CheckInput[], seed: number): Record<string, TensorData> {
  const feeds: Record<string, TensorData> = {};
  inputs.forEach((i, k) => (feeds[i.name] = tensor('float32', i.shape, randomValues(sizeOf(i.shape), seed + k))));
  return feeds;
}

/** Largest |a - b| over every output, relative to the largest |a|. */
async function outputsDiffer(a: Model, b: Model, feeds: Record<string, TensorData>): Promise<number> {
  const [sa, sb] = await Promise.all([Session.create(a), Session.create(b)]);
  try {
    const [ra, rb] = await Promise.all([sa.run(feeds), sb.run(feeds)]);
    let diff = 0;
    let scale = 0;
    for (const k of Object.keys(ra)) {
      const x = ra[k]!.data as Float32Array;
      const y = rb[k]!.data as Float32Array;
      expect(rb[k]!.dims).toEqual(ra[k]!.dims);
      for (let i = 0; i < x.length; i++) {
        diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
        scale = Math.max(scale, Math.abs(x[i]!));
      }
    }
    return diff / scale;
  } finally {
    await Promise.all([sa.release(), sb.release()]);
  }
}

interface TransposeSpec {
  x: number[];
  w: number[];
  bias?: boolean;
  attrs: Record<string, AttrValue>;
}

function convTransposeModel(s: TransposeSpec, seed: number): { model: Model; inputs: CheckInput[] } {
  const inputs = [{ name: 'x', shape: s.x }];
  const group = (s.attrs['group']?.i as number | undefined) ?? 1;
  const build = (b: GraphBuilder) => {
    const ins = ['x', b.constant(tensor('float32', s.w, randomValues(sizeOf(s.w), seed)), 'W')];
    if (s.bias) ins.push(b.constant(tensor('float32', [s.w[1]! * group], randomValues(s.w[1]! * group, seed + 1)), 'B'));
    return [b.op('Relu', [b.op('ConvTranspose', ins, s.attrs)])];
  };
  return { model: prepareModel(buildModel('float32', inputs, build)), inputs };
}

const stride1: [string, TransposeSpec][] = [
  ['3x3 pad 1, bias', { x: [2, 5, 6, 7], w: [5, 4, 3, 3], bias: true, attrs: { pads: ints([1, 1, 1, 1]) } }],
  ['4x2 no pads (grows)', { x: [1, 3, 5, 5], w: [3, 2, 4, 2], attrs: {} }],
  ['asymmetric pads', { x: [1, 3, 6, 6], w: [3, 3, 3, 3], attrs: { pads: ints([0, 2, 1, 0]) } }],
  ['dilations 2x1, group 2', { x: [2, 4, 5, 6], w: [4, 3, 3, 2], bias: true, attrs: { dilations: ints([2, 1]), group: { i: 2 }, pads: ints([1, 0, 2, 1]) } }],
  ['depthwise', { x: [1, 6, 5, 5], w: [6, 1, 3, 3], attrs: { group: { i: 6 }, pads: ints([1, 1, 1, 1]) } }],
  ['SAME_UPPER', { x: [1, 3, 5, 6], w: [3, 2, 4, 3], attrs: { auto_pad: { s: 'SAME_UPPER' } } }],
  ['SAME_LOWER', { x: [1, 3, 5, 6], w: [3, 2, 4, 3], attrs: { auto_pad: { s: 'SAME_LOWER' } } }],
  ['output_shape', { x: [1, 2, 4, 4], w: [2, 3, 3, 3], attrs: { output_shape: ints([5, 6]) } }],
  ['1-D', { x: [2, 3, 7], w: [3, 4, 3], bias: true, attrs: { pads: ints([2, 0]) } }],
  ['3-D', { x: [1, 2, 3, 4, 3], w: [2, 2, 2, 3, 2], attrs: { pads: ints([1, 0, 1, 0, 1, 0]) } }],
];

describe('convTransposeAsConv', () => {
  for (const [label, spec] of stride1)
    it(`stride 1, ${label}: a Conv with the same outputs and a gradient matching finite differences`, async () => {
      const { model, inputs } = convTransposeModel(spec, 7);
      const rewritten = cloneModel(model);
      expect(convTransposeAsConv(rewritten.graph)).toBe(1);
      expect(rewritten.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu']);
      expect(await outputsDiffer(model, rewritten, randomFeeds(inputs, 3))).toBeLessThan(1e-5);
      // The compiled program (rewrite included) against finite differences of the original ConvTranspose.
      const err = await checkCase(
        {
          name: label,
          opts: { dtype: 'float32', eps: 1, inputs, wrt: ['x'] },
          build: (b) => {
            const w = b.constant(tensor('float32', spec.w, randomValues(sizeOf(spec.w), 7)), 'W');
            return [b.op('ConvTranspose', ['x', w], spec.attrs)];
          },
        },
        1e-3,
      );
      expect(err).toBeLessThan(1e-3);
    });

  it('keeps strided ConvTranspose, weights that are differentiated, and pads past the kernel extent', () => {
    const cases: [TransposeSpec, Set<string>][] = [
      [{ x: [1, 2, 4, 4], w: [2, 2, 4, 4], attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } }, new Set()],
      [{ x: [1, 2, 4, 4], w: [2, 2, 3, 3], attrs: { pads: ints([1, 1, 1, 1]) } }, new Set(['W'])],
      [{ x: [1, 2, 6, 6], w: [2, 2, 3, 3], attrs: { pads: ints([3, 0, 0, 0]) } }, new Set()],
    ];
    for (const [spec, keep] of cases) {
      const { model } = convTransposeModel(spec, 1);
      expect(convTransposeAsConv(model.graph, keep)).toBe(0);
      expect(model.graph.nodes.map((n) => n.opType)).toContain('ConvTranspose');
    }
  });
});

describe('reluAfterConcat', () => {
  const inputs = [
    { name: 'a', shape: [2, 3, 4, 4] },
    { name: 'b', shape: [2, 5, 4, 4] },
  ];
  /** Concat(Relu(a), Relu(Conv(b)), Relu(a')) then a consumer; `extraUse` also reads one Relu output elsewhere. */
  const build = (extraUse: boolean) => (b: GraphBuilder) => {
    const w = b.constant(tensor('float32', [4, 5, 3, 3], randomValues(180, 5)), 'W');
    const ra = b.op('Relu', ['a']);
    const rc = b.op('Relu', [b.op('Conv', ['b', w], { pads: ints([1, 1, 1, 1]) })]);
    const ra2 = b.op('Relu', [b.op('Neg', ['a'])]);
    const cat = b.op('Concat', [ra, rc, ra2], { axis: { i: 1 } });
    const out = b.op('Mul', [cat, cat]);
    return extraUse ? [out, b.op('Neg', [rc])] : [out];
  };

  it('moves the Relus after the Concat: same outputs, gradient matching finite differences', async () => {
    const model = prepareModel(buildModel('float32', inputs, build(false)));
    const rewritten = cloneModel(model);
    expect(reluAfterConcat(rewritten.graph)).toBe(1);
    const ops = rewritten.graph.nodes.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Relu')).toHaveLength(1);
    expect(ops.indexOf('Relu')).toBe(ops.indexOf('Concat') + 1);
    expect(await outputsDiffer(model, rewritten, randomFeeds(inputs, 4))).toBe(0);
    // Inputs kept away from the kink at 0, so that central differences see one side of it.
    const away = (v: number) => (v >= 0 ? v + 0.2 : v - 0.2);
    const err = await checkCase({ name: 'concat of relus', opts: { dtype: 'float32', eps: 1e-2, inputs, transform: away }, build: build(false) }, 1e-3);
    expect(err).toBeLessThan(1e-3);
  });

  it('leaves a Concat alone when a Relu output is asked for as an output of the program', () => {
    const model = prepareModel(buildModel('float32', inputs, build(false)));
    const relu = model.graph.nodes.find((n) => n.opType === 'Relu')!.outputs[0]!;
    const prog = compileFused(model, { outputs: [model.graph.outputs[0]!.name], wrt: ['a'], seedOnes: true, extraOutputs: [relu] });
    expect(prog.model.graph.outputs.map((o) => o.name)).toContain(relu);
    expect(prog.model.graph.nodes.filter((n) => n.opType === 'Relu')).toHaveLength(3);
  });

  it('leaves a Concat alone when one of its Relu outputs is read elsewhere', () => {
    const model = prepareModel(buildModel('float32', inputs, build(true)));
    expect(reluAfterConcat(model.graph)).toBe(0);
    expect(model.graph.nodes.filter((n) => n.opType === 'Relu')).toHaveLength(3);
  });
});

describe('scatterIntoSum', () => {
  // x read by an overlapping max pool and by two other ops: three gradient contributions, one of them a
  // scatter into zeros.
  const inputs = [{ name: 'x', shape: [1, 3, 6, 6] }];
  const build = (b: GraphBuilder) => {
    const pool = b.op('MaxPool', ['x'], { kernel_shape: ints([3, 3]), strides: ints([1, 1]), pads: ints([1, 1, 1, 1]) });
    const sq = b.op('Mul', ['x', 'x']);
    return [b.op('Sum', [pool, sq, b.op('Neg', ['x'])])];
  };

  it('scatters the pool gradient into the sum of the other contributions; finite differences agree', async () => {
    const model = prepareModel(buildModel('float32', inputs, build));
    const prog = compileFused(model, { outputs: [model.graph.outputs[0]!.name], wrt: ['x'], seedOnes: true });
    const g = prog.model.graph;
    const scatter = g.nodes.find((n) => n.opType === 'ScatterElements')!;
    const dataFrom = g.nodes.find((n) => n.outputs.includes(scatter.inputs[0]!))!;
    expect(dataFrom.opType).toBe('Reshape');
    expect(g.nodes.find((n) => n.outputs.includes(dataFrom.inputs[0]!))!.opType).toBe('Sum');
    expect(g.nodes.filter((n) => n.opType === 'Expand').every((n) => !n.outputs.includes(scatter.inputs[0]!))).toBe(true);
    // Distinct values (no ties in the windows) away from the pool's decision boundaries.
    const values = Array.from({ length: 108 }, (_, i) => ((i * 37) % 108) / 10 - 5);
    const err = await checkCase({ name: 'pool + others', opts: { dtype: 'float32', eps: 1e-2, inputs: [{ ...inputs[0]!, values }] }, build }, 1e-3);
    expect(err).toBeLessThan(1e-3);
  });

  it('gives the gradient the program has without it', async () => {
    const model = prepareModel(buildModel('float32', inputs, build));
    const spec = { outputs: [model.graph.outputs[0]!.name], wrt: ['x'], seedOnes: true };
    const withFold = compileFused(model, spec);
    const saved = [...GRAPH_REWRITES];
    GRAPH_REWRITES.splice(0, GRAPH_REWRITES.length, ...saved.filter((r) => r.name !== 'scatterIntoSum'));
    let without;
    try {
      without = compileFused(model, spec);
    } finally {
      GRAPH_REWRITES.splice(0, GRAPH_REWRITES.length, ...saved);
    }
    const scatterData = (m: Model) => {
      const sc = m.graph.nodes.find((n) => n.opType === 'ScatterElements')!;
      return m.graph.nodes.find((n) => n.outputs.includes(sc.inputs[0]!))!.opType;
    };
    expect([scatterData(without.model), scatterData(withFold.model)]).toEqual(['Expand', 'Reshape']);
    expect(await outputsDiffer(without.model, withFold.model, randomFeeds(inputs, 5))).toBeLessThan(1e-6);
  });
});

describe('subPixelConvTranspose', () => {
  const strided: [string, TransposeSpec][] = [
    ['4x4 stride 2 pad 1 (the DGN deconvolutions), bias', { x: [2, 5, 4, 5], w: [5, 16, 4, 4], bias: true, attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } }],
    ['3x3 stride 2, output_padding (cropped phases)', { x: [1, 4, 4, 3], w: [4, 16, 3, 3], attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), output_padding: ints([1, 0]) } }],
    ['5x4 stride 3, asymmetric pads', { x: [1, 3, 3, 4], w: [3, 17, 5, 4], bias: true, attrs: { strides: ints([3, 3]), pads: ints([2, 0, 1, 2]) } }],
    ['output_shape', { x: [1, 2, 3, 3], w: [2, 16, 3, 3], attrs: { strides: ints([2, 2]), output_shape: ints([6, 7]) } }],
    ['SAME_UPPER', { x: [1, 2, 3, 4], w: [2, 16, 4, 3], attrs: { strides: ints([2, 2]), auto_pad: { s: 'SAME_UPPER' } } }],
  ];
  for (const [label, spec] of strided)
    it(`${label}: phase Convs + DepthToSpace with the same outputs, gradient matching finite differences`, async () => {
      const { model, inputs } = convTransposeModel(spec, 3);
      const rewritten = cloneModel(model);
      expect(subPixelConvTranspose(rewritten.graph)).toBe(1);
      const ops = rewritten.graph.nodes.map((n) => n.opType);
      expect(ops).not.toContain('ConvTranspose');
      expect(ops).toContain('DepthToSpace');
      expect(await outputsDiffer(model, rewritten, randomFeeds(inputs, 6))).toBeLessThan(1e-5);
      const err = await checkCase(
        {
          name: label,
          opts: { dtype: 'float32', eps: 1, inputs, wrt: ['x'] },
          build: (b) => [b.op('ConvTranspose', ['x', b.constant(tensor('float32', spec.w, randomValues(sizeOf(spec.w), 3)), 'W')], spec.attrs)],
        },
        1e-3,
      );
      expect(err).toBeLessThan(1e-3);
    });

  it('keeps few output channels, groups, dilations, stride 1 and differentiated weights', () => {
    const base = { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) };
    const cases: [TransposeSpec, Set<string>][] = [
      [{ x: [1, 4, 4, 4], w: [4, 3, 4, 4], attrs: base }, new Set()],
      [{ x: [1, 4, 4, 4], w: [4, 8, 4, 4], attrs: { ...base, group: { i: 2 } } }, new Set()],
      [{ x: [1, 4, 4, 4], w: [4, 16, 3, 3], attrs: { ...base, dilations: ints([2, 2]) } }, new Set()],
      [{ x: [1, 4, 4, 4], w: [4, 16, 3, 3], attrs: { pads: ints([1, 1, 1, 1]) } }, new Set()],
      [{ x: [1, 4, 4, 4], w: [4, 16, 4, 4], attrs: base }, new Set(['W'])],
    ];
    for (const [spec, keep] of cases) {
      const { model } = convTransposeModel(spec, 1);
      expect(subPixelConvTranspose(model.graph, keep)).toBe(0);
    }
  });

  it('split programs: the phase Convs run in the forward, the backward still takes the strided Conv', async () => {
    const spec = strided[0]![1];
    const { model } = convTransposeModel(spec, 3);
    const y = model.graph.outputs[0]!.name;
    const split = compileSplit(model, { outputs: [y], wrt: ['x'] });
    expect(split.forward.graph.nodes.map((n) => n.opType)).toContain('DepthToSpace');
    expect(split.backward.graph.nodes.map((n) => n.opType)).not.toContain('DepthToSpace');
    const fused = compileFused(model, { outputs: [y], wrt: ['x'] });
    const feeds = randomFeeds([{ name: 'x', shape: spec.x }], 8);
    const shape = model.graph.valueTypes.get(y)!.shape as number[];
    const upstream = tensor('float32', shape, randomValues(sizeOf(shape), 9));
    const [fs, bs, us] = await Promise.all([Session.create(split.forward), Session.create(split.backward), Session.create(fused.model)]);
    try {
      const f = await fs.run(feeds);
      const state: Record<string, TensorData> = {};
      for (const k of split.saved) state[k] = f[k] ?? feeds[k]!;
      const g1 = (await bs.run({ ...state, [`grad:${y}`]: upstream }))['grad:x']!.data as Float32Array;
      const g2 = (await us.run({ ...feeds, [`grad:${y}`]: upstream }))['grad:x']!.data as Float32Array;
      let d = 0;
      for (let i = 0; i < g1.length; i++) d = Math.max(d, Math.abs(g1[i]! - g2[i]!));
      expect(d).toBeLessThan(1e-4);
    } finally {
      await Promise.all([fs.release(), bs.release(), us.release()]);
    }
  });
});
