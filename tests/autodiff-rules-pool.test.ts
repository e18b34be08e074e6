// Pooling, resampling and padding gradient rules against central finite differences
// (tests/helpers/gradcheck.ts).
//
// Precision per op, by which kernels onnxruntime's CPU build has:
//  - MaxPool and Pad have float64 kernels: float64 with the harness's default step (1e-6).
//  - AveragePool, GlobalAveragePool and Resize are float32-only but linear: float32 with step 1 (central
//    differences of a linear objective are exact at any step; a unit step makes the ~1e-7 |J| float32
//    rounding of each evaluation negligible next to the 1e-3 bound).
//  - GlobalMaxPool is float32-only and piecewise linear: the op runs in float32 between Casts from and to
//    float64, inputs rounded to float32, step 2^-10 (exact in float32 at these magnitudes). Only the few
//    outputs the perturbed input reaches change, each rounded to ~6e-8 relative, so the numeric
//    derivative is accurate to ~1e-4 relative; the step is far below the gap between a map's two largest
//    values for this seed, so no window's arg-max changes.
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/onnx/builder.ts';
import type { AttrValue, Graph } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { buildModel, gradCheck, type GradCheckOptions, checkCase, type GradCase } from './helpers/gradcheck.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { compileFused, GRAD_PREFIX } from '../src/autodiff/compile.ts';
import { Vjp } from '../src/optvis/objectives/gradient.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';

const TOL = 1e-3;

type Case = GradCase;
const check = (c: Case) => checkCase(c, TOL);

const ints = (v: number[]): AttrValue => ({ ints: v });

function run(cases: Case[]) {
  for (const c of cases)
    it(c.name, async () => {
      expect(await check(c)).toBeLessThan(TOL);
    });
}

/** One op on x. */
function opCase(op: string, label: string, shape: number[], attrs: Record<string, AttrValue>, opts: Partial<GradCheckOptions> = {}): Case {
  return {
    name: `${op} ${label}`,
    opts: { inputs: [{ name: 'x', shape }], ...opts },
    build: (b) => [b.op(op, ['x'], attrs)],
  };
}

const linearF32 = { dtype: 'float32' as const, eps: 1 };

// ---------------------------------------------------------------- MaxPool (float64)

describe('MaxPool rule', () => {
  run([
    opCase('MaxPool', '3x3 stride 2, pads, ceil_mode (overlapping windows)', [2, 3, 7, 8], {
      kernel_shape: ints([3, 3]),
      strides: ints([2, 2]),
      pads: ints([1, 1, 1, 1]),
      ceil_mode: { i: 1 },
    }),
    opCase('MaxPool', '3x3 stride 1 (each input in up to 9 windows)', [1, 2, 5, 6], { kernel_shape: ints([3, 3]) }),
    opCase('MaxPool', '3x3 stride 2 ceil_mode, no pads (GoogLeNet)', [1, 2, 8, 8], {
      kernel_shape: ints([3, 3]),
      strides: ints([2, 2]),
      ceil_mode: { i: 1 },
    }),
    opCase('MaxPool', 'asymmetric pads, strides 2x1', [2, 2, 6, 5], { kernel_shape: ints([2, 3]), strides: ints([2, 1]), pads: ints([1, 0, 0, 2]) }),
    opCase('MaxPool', 'dilations 2', [1, 2, 7, 7], { kernel_shape: ints([2, 2]), dilations: ints([2, 2]) }),
    opCase('MaxPool', 'SAME_UPPER stride 2', [1, 2, 5, 6], { kernel_shape: ints([3, 2]), strides: ints([2, 2]), auto_pad: { s: 'SAME_UPPER' } }),
    opCase('MaxPool', 'storage_order 1, indices unused', [2, 2, 5, 5], { kernel_shape: ints([2, 2]), strides: ints([1, 2]), storage_order: { i: 1 } }),
    opCase('MaxPool', '1-D', [2, 3, 9], { kernel_shape: ints([3]), strides: ints([2]), pads: ints([1, 1]) }),
    opCase('MaxPool', '3-D', [1, 2, 4, 5, 4], { kernel_shape: ints([2, 2, 2]), strides: ints([1, 2, 2]) }),
    {
      name: 'MaxPool with its Indices output already in the graph (row-major)',
      opts: { inputs: [{ name: 'x', shape: [2, 2, 5, 5] }] },
      build: (b) => [b.node('MaxPool', ['x'], { kernel_shape: ints([3, 3]), strides: ints([2, 2]) }, 2)[0]!],
    },
    {
      name: 'MaxPool with column-major Indices already in the graph (recomputed row-major)',
      opts: { inputs: [{ name: 'x', shape: [2, 2, 5, 5] }] },
      build: (b) => [b.node('MaxPool', ['x'], { kernel_shape: ints([3, 3]), storage_order: { i: 1 } }, 2)[0]!],
    },
  ]);
});

describe('MaxPool in a split program', () => {
  it('the forward returns the arg-max indices it added, and the backward matches the fused program', async () => {
    const shape = [2, 3, 6, 6];
    const model = prepareModel(
      buildModel('float64', [{ name: 'x', shape }], (b) => [
        b.op('MaxPool', [b.op('Tanh', ['x'])], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }),
      ]),
    );
    const y = model.graph.outputs[0]!.name;
    const rng = new Rng(4);
    const x = { dtype: 'float64' as const, dims: shape, data: rng.fillNormal(new Float64Array(216)) };
    const up = { dtype: 'float64' as const, dims: [2, 3, 3, 3], data: rng.fillNormal(new Float64Array(54)) };
    const vjp = await Vjp.create(model, [y], ['x'], { threads: 1 });
    expect(vjp.split.saved.some((s) => vjp.split.forward.graph.outputs.some((o) => o.name === s && o.dtype === 'int64'))).toBe(true);
    const { state } = await vjp.forward({ x });
    const split = (await vjp.backward(state, { [y]: up })).get('x')!;
    await vjp.release();
    const fused = compileFused(model, { outputs: [y], wrt: ['x'] });
    const s = await Session.create(fused.model, { threads: 1 });
    const res = (await s.run({ x, [`${GRAD_PREFIX}${y}`]: up }))[fused.gradNames.get('x')!]!;
    await s.release();
    expect([...(split.data as Float64Array)]).toEqual([...(res.data as Float64Array)]);
    expect((res.data as Float64Array).some((v) => v !== 0)).toBe(true);
  });
});

// ---------------------------------------------------------------- AveragePool (float32, linear)

function avgCase(label: string, shape: number[], attrs: Record<string, AttrValue>): Case[] {
  return [0, 1].map((cip) =>
    opCase('AveragePool', `${label}, count_include_pad ${cip}`, shape, { ...attrs, count_include_pad: { i: cip } }, linearF32),
  );
}

describe('AveragePool rule', () => {
  run([
    ...avgCase('3x3 stride 2, pads 1, ceil_mode', [2, 3, 7, 8], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), ceil_mode: { i: 1 } }),
    ...avgCase('2x3 strides 2x1, asymmetric pads', [1, 2, 6, 5], { kernel_shape: ints([2, 3]), strides: ints([2, 1]), pads: ints([0, 1, 1, 0]) }),
    ...avgCase('ceil_mode window past the padded end', [1, 2, 6, 5], { kernel_shape: ints([3, 2]), strides: ints([2, 2]), pads: ints([1, 0, 0, 0]), ceil_mode: { i: 1 } }),
    ...avgCase('VALID ceil_mode', [1, 2, 5, 7], { kernel_shape: ints([2, 3]), strides: ints([2, 2]), auto_pad: { s: 'VALID' }, ceil_mode: { i: 1 } }),
    ...avgCase('SAME_LOWER', [1, 2, 5, 6], { kernel_shape: ints([2, 3]), strides: ints([2, 2]), auto_pad: { s: 'SAME_LOWER' } }),
    ...avgCase('3-D 5x1x1 over channels (PyTorch LRN)', [1, 1, 8, 3, 3], { kernel_shape: ints([5, 1, 1]), pads: ints([2, 0, 0, 2, 0, 0]) }),
    ...avgCase('3-D 3x2x2 strides 2, asymmetric pads', [2, 2, 5, 4, 5], { kernel_shape: ints([3, 2, 2]), strides: ints([2, 2, 2]), pads: ints([1, 0, 1, 0, 1, 0]) }),
    ...avgCase('5x5 stride 3 (GoogLeNet aux head)', [1, 2, 14, 14], { kernel_shape: ints([5, 5]), strides: ints([3, 3]) }),
    ...avgCase('7x7 on 7x7', [2, 3, 7, 7], { kernel_shape: ints([7, 7]) }),
    ...avgCase('1-D', [2, 3, 9], { kernel_shape: ints([3]), strides: ints([2]), pads: ints([2, 1]) }),
  ]);
});

// ---------------------------------------------------------------- global pools

const gmpOpts: Partial<GradCheckOptions> = { eps: 2 ** -10, transform: Math.fround };

/** A float32-only op between Casts from and to float64. */
function inFloat32(b: GraphBuilder, op: string, x: string, attrs: Record<string, AttrValue> = {}): string {
  const x32 = b.op('Cast', [x], { to: { i: 1 } });
  return b.op('Cast', [b.op(op, [x32], attrs)], { to: { i: 11 } });
}

describe('global pooling rules', () => {
  run([
    opCase('GlobalAveragePool', '2-D', [2, 3, 4, 5], {}, linearF32),
    opCase('GlobalAveragePool', '1-D', [2, 3, 7], {}, linearF32),
    { name: 'GlobalMaxPool 2-D', opts: { inputs: [{ name: 'x', shape: [2, 3, 4, 5] }], ...gmpOpts }, build: (b) => [inFloat32(b, 'GlobalMaxPool', 'x')] },
    { name: 'GlobalMaxPool 3-D', opts: { inputs: [{ name: 'x', shape: [1, 2, 3, 3, 2] }], ...gmpOpts }, build: (b) => [inFloat32(b, 'GlobalMaxPool', 'x')] },
  ]);
  it('GlobalMaxPool splits the gradient between tied maxima', async () => {
    const values = [1, 3, 3, 0, -1, 2, 2, 2];
    const res = await gradCheck(
      { inputs: [{ name: 'x', shape: [1, 2, 2, 2], values }], samples: 0 },
      (b) => [inFloat32(b, 'GlobalMaxPool', 'x')],
    );
    // The projection R is random: compare the pattern, d/dx = R_c * [x == max] / count.
    const gr = [...res.gradients.get('x')!];
    for (const k of [0, 3, 4]) expect(Math.abs(gr[k]!)).toBe(0);
    expect(Math.abs(gr[1]!)).toBeGreaterThan(0.01);
    expect(gr[1]).toBeCloseTo(gr[2]!, 12);
    expect(Math.abs(gr[5]!)).toBeGreaterThan(0.01);
    expect(gr[5]).toBeCloseTo(gr[6]!, 12);
    expect(gr[6]).toBeCloseTo(gr[7]!, 12);
  });
});

// ---------------------------------------------------------------- Resize (float32, linear)

function resizeCase(label: string, shape: number[], attrs: Record<string, AttrValue>, how: { scales?: number[]; sizes?: number[] }): Case {
  return {
    name: `Resize ${label}`,
    opts: { inputs: [{ name: 'x', shape }], ...linearF32 },
    build: (b) => {
      const scales = how.scales ? b.constant(tensor('float32', [how.scales.length], how.scales), 'scales') : '';
      const sizes = how.sizes ? b.constant(tensor('int64', [how.sizes.length], how.sizes), 'sizes') : '';
      return [b.op('Resize', how.sizes ? ['x', '', '', sizes] : ['x', '', scales], attrs)];
    },
  };
}

const nearest = (ctm: string, nm = 'round_prefer_floor'): Record<string, AttrValue> => ({
  mode: { s: 'nearest' },
  coordinate_transformation_mode: { s: ctm },
  nearest_mode: { s: nm },
});
const linear = (ctm: string): Record<string, AttrValue> => ({ mode: { s: 'linear' }, coordinate_transformation_mode: { s: ctm } });

describe('Resize rule', () => {
  run([
    resizeCase('nearest x2, asymmetric floor', [1, 2, 3, 4], nearest('asymmetric', 'floor'), { scales: [1, 1, 2, 2] }),
    resizeCase('nearest half_pixel round_prefer_floor, scales 1.5 x 0.6', [2, 1, 4, 5], nearest('half_pixel'), { scales: [1, 1, 1.5, 0.6] }),
    resizeCase('nearest align_corners round_prefer_ceil, sizes', [1, 2, 4, 5], nearest('align_corners', 'round_prefer_ceil'), { sizes: [1, 2, 7, 3] }),
    resizeCase('nearest pytorch_half_pixel ceil, sizes', [1, 1, 5, 4], nearest('pytorch_half_pixel', 'ceil'), { sizes: [1, 1, 3, 9] }),
    resizeCase('nearest tf_half_pixel_for_nn', [1, 1, 4, 4], nearest('tf_half_pixel_for_nn'), { scales: [1, 1, 1.75, 2.5] }),
    resizeCase('nearest along channels', [1, 3, 2, 2], nearest('asymmetric', 'floor'), { scales: [1, 2, 1, 1] }),
    resizeCase('linear half_pixel x2', [1, 2, 3, 4], linear('half_pixel'), { scales: [1, 1, 2, 2] }),
    resizeCase('linear half_pixel, sizes down', [2, 1, 6, 5], linear('half_pixel'), { sizes: [2, 1, 4, 3] }),
    resizeCase('linear align_corners, sizes', [1, 2, 4, 5], linear('align_corners'), { sizes: [1, 2, 7, 3] }),
    resizeCase('linear pytorch_half_pixel, one output row', [1, 1, 4, 5], linear('pytorch_half_pixel'), { sizes: [1, 1, 1, 8] }),
    resizeCase('linear asymmetric, scales 2.5 x 0.5', [1, 2, 4, 6], linear('asymmetric'), { scales: [1, 1, 2.5, 0.5] }),
    resizeCase('linear 2-D input', [4, 5], linear('half_pixel'), { scales: [1.5, 2] }),
  ]);
});

// ---------------------------------------------------------------- Pad (float64)

function padCase(label: string, shape: number[], pads: number[], mode: string, withValue = false): Case {
  return {
    name: `Pad ${mode} ${label}`,
    opts: { inputs: [{ name: 'x', shape }, ...(withValue ? [{ name: 'v', shape: [] }] : [])] },
    build: (b) => {
      const p = b.constant(tensor('int64', [pads.length], pads), 'pads');
      return [b.op('Pad', withValue ? ['x', p, 'v'] : ['x', p], { mode: { s: mode } })];
    },
  };
}

describe('Pad rule', () => {
  run([
    padCase('positive pads', [2, 3, 4], [0, 1, 2, 1, 0, 3], 'constant'),
    padCase('negative pads crop', [2, 5, 6], [0, -1, 2, 0, 1, -2], 'constant'),
    padCase('with a differentiated constant_value', [2, 3, 4], [1, 0, 2, 0, 2, 1], 'constant', true),
    padCase('2 axes', [1, 2, 4, 5], [0, 0, 3, 1, 0, 0, 2, 4], 'reflect'),
    padCase('1-D', [5], [2, 3], 'reflect'),
    padCase('2 axes', [1, 2, 3, 4], [0, 0, 2, 1, 0, 0, 3, 2], 'edge'),
    padCase('length-1 axis', [2, 1, 4], [0, 2, 1, 0, 3, 0], 'edge'),
  ]);
});
