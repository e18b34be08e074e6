// Conv, ConvTranspose, Gemm and MatMul gradient rules against central finite differences
// (tests/helpers/gradcheck.ts), plus the compile-time error for an op without a rule.
//
// onnxruntime has no float64 Conv or ConvTranspose kernel, so those cases run in float32 with step 1:
// the objective sum(R * Y) is linear in each input separately (X, W and B are perturbed one coordinate
// at a time), so central differences carry no truncation error at any step, and a unit step makes
// float32 rounding in the objective (~1e-7 |J| per evaluation) negligible next to the 1e-3 bound.
// Gemm and MatMul have float64 kernels and run in float64 with the harness's default step.
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/onnx/builder.ts';
import type { AttrValue, Graph } from '../src/onnx/ir.ts';
import { sizeOf } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { compileFused } from '../src/autodiff/compile.ts';
import { Rng } from '../src/util/rng.ts';
import { buildModel, gradCheck, type CheckInput, type GradCheckOptions, checkCase, type GradCase } from './helpers/gradcheck.ts';

const TOL = 1e-3;

type Case = GradCase;
const check = (c: Case) => checkCase(c, TOL);

function randomValues(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.normal());
}

const ints = (v: number[]): AttrValue => ({ ints: v });

interface ConvSpec {
  x: number[];
  w: number[];
  bias?: boolean;
  attrs: Record<string, AttrValue>;
}

/**
 * A Conv or ConvTranspose case. `weights: 'input'` differentiates with respect to X, W and B (W a graph
 * input: the in-graph weight transforms); `'const'` keeps W and B as initializers and differentiates
 * with respect to X only (the compile-time weight transforms).
 */
function convCase(op: 'Conv' | 'ConvTranspose', label: string, s: ConvSpec, weights: 'input' | 'const'): Case {
  const outChannels = op === 'Conv' ? s.w[0]! : s.w[1]! * ((s.attrs['group']?.i as number | undefined) ?? 1);
  const inputs: CheckInput[] = [{ name: 'x', shape: s.x }];
  if (weights === 'input') {
    inputs.push({ name: 'w', shape: s.w });
    if (s.bias) inputs.push({ name: 'b', shape: [outChannels] });
  }
  return {
    name: `${op} ${label} (W ${weights})`,
    opts: { dtype: 'float32', eps: 1, inputs, wrt: weights === 'input' ? inputs.map((i) => i.name) : ['x'] },
    build: (b) => {
      let w = 'w';
      let bias = 'b';
      if (weights === 'const') {
        w = b.constant(tensor('float32', s.w, randomValues(sizeOf(s.w), 11)), 'W');
        if (s.bias) bias = b.constant(tensor('float32', [outChannels], randomValues(outChannels, 12)), 'B');
      }
      return [b.op(op, s.bias ? ['x', w, bias] : ['x', w], s.attrs)];
    },
  };
}

const convSpecs: [string, ConvSpec][] = [
  ['3x3 pad 1', { x: [2, 3, 7, 6], w: [4, 3, 3, 3], bias: true, attrs: { pads: ints([1, 1, 1, 1]) } }],
  ['strides 2x3, asymmetric pads', { x: [1, 2, 9, 10], w: [3, 2, 3, 2], bias: true, attrs: { strides: ints([2, 3]), pads: ints([1, 0, 2, 1]) } }],
  ['dilations 2x1', { x: [1, 2, 8, 7], w: [3, 2, 3, 3], attrs: { dilations: ints([2, 1]), pads: ints([2, 1, 2, 1]) } }],
  ['dilation 2, stride 2', { x: [2, 2, 9, 9], w: [2, 2, 3, 3], attrs: { dilations: ints([2, 2]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } }],
  ['SAME_UPPER stride 2 (odd total padding)', { x: [1, 2, 7, 8], w: [3, 2, 4, 3], attrs: { auto_pad: { s: 'SAME_UPPER' }, strides: ints([2, 2]) } }],
  ['SAME_LOWER stride 2 (odd total padding)', { x: [1, 2, 7, 8], w: [3, 2, 4, 3], attrs: { auto_pad: { s: 'SAME_LOWER' }, strides: ints([2, 2]) } }],
  ['SAME_LOWER stride 1', { x: [1, 2, 6, 5], w: [2, 2, 4, 2], attrs: { auto_pad: { s: 'SAME_LOWER' } } }],
  ['VALID stride 2 (leftover rows)', { x: [1, 2, 8, 7], w: [3, 2, 3, 3], attrs: { auto_pad: { s: 'VALID' }, strides: ints([2, 2]) } }],
  ['group 2', { x: [2, 4, 6, 6], w: [6, 2, 3, 3], bias: true, attrs: { group: { i: 2 }, pads: ints([1, 1, 1, 1]) } }],
  ['group 2, stride 2', { x: [1, 4, 7, 7], w: [4, 2, 3, 3], attrs: { group: { i: 2 }, strides: ints([2, 2]), pads: ints([0, 1, 1, 0]) } }],
  ['depthwise', { x: [2, 3, 5, 5], w: [3, 1, 3, 3], bias: true, attrs: { group: { i: 3 }, pads: ints([1, 1, 1, 1]) } }],
  ['depthwise x2 multiplier, stride 2', { x: [1, 3, 7, 6], w: [6, 1, 3, 3], attrs: { group: { i: 3 }, strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } }],
  ['stride 3 > kernel 2 (gaps)', { x: [1, 2, 8, 8], w: [2, 2, 2, 2], attrs: { strides: ints([3, 3]) } }],
  ['1x1 with pads beyond the kernel', { x: [1, 3, 4, 5], w: [2, 3, 1, 1], bias: true, attrs: { pads: ints([1, 2, 0, 1]) } }],
  ['1-D stride 2', { x: [2, 3, 9], w: [2, 3, 3], bias: true, attrs: { strides: ints([2]), pads: ints([1, 0]) } }],
  ['3-D', { x: [1, 2, 4, 5, 4], w: [2, 2, 2, 3, 2], attrs: { pads: ints([1, 0, 1, 0, 1, 0]) } }],
  // 16+ channels per group: the weight gradient takes the matrix-product form.
  ['16 channels (matrix-product weight gradient)', { x: [2, 16, 6, 5], w: [16, 16, 3, 3], bias: true, attrs: { pads: ints([1, 1, 1, 1]) } }],
  ['32 channels, group 2, stride 2, asymmetric pads', { x: [1, 32, 9, 9], w: [32, 16, 3, 2], attrs: { group: { i: 2 }, strides: ints([2, 2]), pads: ints([1, 0, 0, 1]) } }],
  ['16 channels, dilation 2, asymmetric pads', { x: [2, 16, 8, 7], w: [16, 16, 3, 3], attrs: { dilations: ints([2, 2]), pads: ints([2, 1, 1, 2]) } }],
];

const convTransposeSpecs: [string, ConvSpec][] = [
  ['stride 2, pads, output_padding', { x: [2, 3, 4, 4], w: [3, 2, 3, 3], bias: true, attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), output_padding: ints([1, 1]) } }],
  ['asymmetric pads, strides 2x3', { x: [1, 2, 3, 4], w: [2, 3, 3, 2], attrs: { strides: ints([2, 3]), pads: ints([0, 1, 2, 0]) } }],
  ['output_shape, odd total padding', { x: [1, 2, 3, 4], w: [2, 2, 3, 3], attrs: { strides: ints([2, 2]), output_shape: ints([6, 8]) } }],
  ['output_shape SAME_UPPER', { x: [1, 2, 3, 4], w: [2, 2, 3, 3], attrs: { strides: ints([2, 2]), output_shape: ints([6, 8]), auto_pad: { s: 'SAME_UPPER' } } }],
  ['SAME_LOWER', { x: [1, 2, 3, 4], w: [2, 2, 4, 3], attrs: { strides: ints([2, 2]), auto_pad: { s: 'SAME_LOWER' } } }],
  ['output_shape past the kernels (zero rows)', { x: [1, 2, 3, 3], w: [2, 2, 3, 3], attrs: { strides: ints([2, 2]), output_shape: ints([8, 8]) } }],
  ['dilations 2, group 2', { x: [2, 4, 3, 3], w: [4, 1, 3, 2], bias: true, attrs: { dilations: ints([2, 2]), group: { i: 2 }, pads: ints([1, 0, 0, 1]) } }],
  ['depthwise stride 2', { x: [1, 3, 3, 3], w: [3, 1, 4, 4], attrs: { group: { i: 3 }, strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } }],
  ['1-D', { x: [2, 3, 5], w: [3, 2, 4], bias: true, attrs: { strides: ints([3]), pads: ints([1, 2]), output_padding: ints([2]) } }],
  ['16 channels (matrix-product weight gradient), output_shape', { x: [2, 16, 4, 4], w: [16, 16, 3, 3], attrs: { strides: ints([2, 2]), output_shape: ints([8, 8]) } }],
];

describe('Conv rule', () => {
  for (const [label, spec] of convSpecs)
    for (const weights of ['input', 'const'] as const) {
      const c = convCase('Conv', label, spec, weights);
      it(c.name, async () => {
        expect(await check(c)).toBeLessThan(TOL);
      });
    }
});

describe('ConvTranspose rule', () => {
  for (const [label, spec] of convTransposeSpecs)
    for (const weights of ['input', 'const'] as const) {
      const c = convCase('ConvTranspose', label, spec, weights);
      it(c.name, async () => {
        expect(await check(c)).toBeLessThan(TOL);
      });
    }
});

describe('Conv input gradient: which program', () => {
  function backwardOps(attrs: Record<string, AttrValue>): string[] {
    const raw = buildModel('float32', [{ name: 'x', shape: [1, 4, 8, 8] }], (b) => {
      const w = b.constant(tensor('float32', [4, 4, 3, 3], randomValues(144, 3)), 'W');
      return [b.op('Conv', ['x', w], attrs)];
    });
    const model = prepareModel(raw);
    const y = model.graph.outputs[0]!.name;
    const prog = compileFused(model, { outputs: [y], wrt: ['x'], seedOnes: true });
    return prog.model.graph.nodes.filter((n) => !model.graph.nodes.some((m) => m.name === n.name)).map((n) => n.opType);
  }
  it('stride 1 with constant weights: a Conv with precomputed flipped weights', () => {
    const ops = backwardOps({ pads: ints([1, 1, 1, 1]) });
    expect(ops).toContain('Conv');
    expect(ops).not.toContain('ConvTranspose');
    expect(ops).not.toContain('Transpose');
  });
  it('stride 2: a ConvTranspose', () => {
    expect(backwardOps({ pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) })).toContain('ConvTranspose');
  });
});

describe('Conv weight gradient: which program', () => {
  function weightGradOps(channels: number): string[] {
    const raw = buildModel('float32', [{ name: 'x', shape: [2, channels, 8, 8] }, { name: 'w', shape: [channels, channels, 3, 3] }], (b) => [
      b.op('Conv', ['x', 'w'], { pads: ints([1, 1, 1, 1]) }),
    ]);
    const model = prepareModel(raw);
    const y = model.graph.outputs[0]!.name;
    const prog = compileFused(model, { outputs: [y], wrt: ['w'], seedOnes: true });
    return prog.model.graph.nodes.filter((n) => !model.graph.nodes.some((m) => m.name === n.name)).map((n) => n.opType);
  }
  it('16 channels: one batched MatMul over the kernel offsets', () => {
    const ops = weightGradOps(16);
    expect(ops.filter((o) => o === 'MatMul')).toHaveLength(1);
    expect(ops).not.toContain('Conv');
  });
  it('4 channels: a Conv of the input with the upstream gradient', () => {
    const ops = weightGradOps(4);
    expect(ops).toContain('Conv');
    expect(ops).not.toContain('MatMul');
  });
});

// ---------------------------------------------------------------- Gemm and MatMul (float64)

function gemmCase(transA: number, transB: number, cShape: number[] | null, alpha = 0.7, beta = 1.3): Case {
  const [M, K, N] = [3, 4, 5];
  const inputs: CheckInput[] = [
    { name: 'a', shape: transA ? [K, M] : [M, K] },
    { name: 'b', shape: transB ? [N, K] : [K, N] },
  ];
  if (cShape) inputs.push({ name: 'c', shape: cShape });
  return {
    name: `Gemm transA=${transA} transB=${transB} C=${cShape ? `[${cShape}]` : 'none'} alpha=${alpha} beta=${beta}`,
    opts: { inputs },
    build: (b) => [
      b.op('Gemm', inputs.map((i) => i.name), { transA: { i: transA }, transB: { i: transB }, alpha: { f: alpha }, beta: { f: beta } }),
    ],
  };
}

const gemmCases: Case[] = [
  gemmCase(0, 0, [3, 5]),
  gemmCase(1, 0, [5]),
  gemmCase(0, 1, [3, 1]),
  gemmCase(1, 1, [1, 5]),
  gemmCase(1, 1, []),
  gemmCase(0, 0, null, 1, 1),
  gemmCase(1, 0, [3, 5], 1, 1),
];

function matmulCase(a: number[], b: number[]): Case {
  return {
    name: `MatMul [${a}] x [${b}]`,
    opts: { inputs: [{ name: 'a', shape: a }, { name: 'b', shape: b }] },
    build: (g) => [g.op('MatMul', ['a', 'b'])],
  };
}

const matmulCases: Case[] = [
  matmulCase([3, 4], [4, 5]),
  matmulCase([2, 3, 4], [4, 5]),
  matmulCase([3, 4], [2, 4, 5]),
  matmulCase([2, 1, 3, 4], [1, 3, 4, 2]),
  matmulCase([4], [2, 4, 5]),
  matmulCase([2, 3, 4], [4]),
  matmulCase([4], [4, 5]),
  matmulCase([3, 4], [4]),
  matmulCase([4], [4]),
];

describe('Gemm rule', () => {
  for (const c of gemmCases)
    it(c.name, async () => {
      expect(await check(c)).toBeLessThan(TOL);
    });
});

describe('MatMul rule', () => {
  for (const c of matmulCases)
    it(c.name, async () => {
      expect(await check(c)).toBeLessThan(TOL);
    });
  it('MatMul with a weight initializer: weight gradient', async () => {
    const c: Case = {
      name: 'MatMul weight',
      opts: { inputs: [{ name: 'a', shape: [2, 3, 4] }], wrt: ['a', 'W'] },
      build: (b) => [b.op('MatMul', ['a', b.constant(tensor('float64', [4, 5], randomValues(20, 5)), 'W')])],
    };
    expect(await check(c)).toBeLessThan(TOL);
  });
});

// ---------------------------------------------------------------- no rule

describe('an op without a gradient rule', () => {
  it('fails at compile time naming the op, the node, the opset and the supported ops', () => {
    const raw = buildModel('float32', [{ name: 'x', shape: [2, 3, 3] }], (b) => [b.op('Det', ['x'], {}, 'my_det')]);
    const model = prepareModel(raw);
    const y = model.graph.outputs[0]!.name;
    let message = '';
    try {
      compileFused(model, { outputs: [y], wrt: ['x'], seedOnes: true });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/no gradient rule for op Det/);
    expect(message).toContain(`node '${model.graph.nodes.find((n) => n.opType === 'Det')!.name}'`);
    expect(message).toContain('opset 17');
    for (const op of ['Conv', 'ConvTranspose', 'MaxPool', 'Gemm', 'MatMul', 'LRN', 'Resize', 'Pad']) expect(message).toContain(op);
  });
});
