// Normalization gradient rules (BatchNormalization, InstanceNormalization, LRN, LayerNormalization) against central finite
// differences (tests/helpers/gradcheck.ts).
//
// BatchNormalization and LayerNormalization have float64 kernels: float64, default step. InstanceNormalization and LRN are
// float32-only and nonlinear: the op runs in float32 between Casts from and to float64 (so the objective
// sums in float64), inputs are rounded to float32 and the step is 2^-10, exact in float32 at these
// magnitudes. The perturbed input changes only the outputs it reaches (its LRN window, or its whole
// instance-norm map of ~20 values), each rounded to ~6e-8 relative: ~sqrt(20) * 6e-8 / 2^-9 ~ 1.4e-4 error
// per derivative (measured: up to 1.5e-4 overall), while the truncation error eps^2 |f'''| / 6 is ~1e-6.
// Both are below the 1e-3 bound. (onnxruntime's LRN takes only 4-D inputs and odd sizes.)
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/onnx/builder.ts';
import type { AttrValue, Graph } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { Rng } from '../src/util/rng.ts';
import { buildModel, gradCheck, type CheckInput, type GradCheckOptions, checkCase, type GradCase } from './helpers/gradcheck.ts';
import { expandLRN } from '../src/autodiff/rules/LRN.ts';
import { compileFused } from '../src/autodiff/compile.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { cloneModel } from '../src/onnx/ir.ts';
import { Session } from '../src/runtime/session.ts';

const TOL = 1e-3;

type Case = GradCase;
const check = (c: Case) => checkCase(c, TOL);

function run(cases: Case[]) {
  for (const c of cases)
    it(c.name, async () => {
      expect(await check(c)).toBeLessThan(TOL);
    });
}

function uniform(n: number, lo: number, hi: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Math.fround(rng.uniform(lo, hi)));
}

const float32Step = { eps: 2 ** -10, transform: Math.fround };

/** Cast float64 -> float32, the op, Cast back (`inputs` beyond the first are cast too). */
function inFloat32(b: GraphBuilder, op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
  const cast = inputs.map((i) => b.op('Cast', [i], { to: { i: 1 } }));
  return b.op('Cast', [b.op(op, cast, attrs)], { to: { i: 11 } });
}

// ---------------------------------------------------------------- BatchNormalization (float64)

function batchNormCase(label: string, shape: number[], inputsVary: boolean, epsilon = 1e-5): Case {
  const C = shape[1]!;
  const variance = uniform(C, 0.3, 2, 3);
  const inputs: CheckInput[] = [{ name: 'x', shape }];
  if (inputsVary)
    inputs.push(
      { name: 'scale', shape: [C] },
      { name: 'bias', shape: [C] },
      { name: 'mean', shape: [C] },
      { name: 'var', shape: [C], values: variance },
    );
  return {
    name: `BatchNormalization ${label}`,
    opts: { inputs },
    build: (b) => {
      const names = inputsVary
        ? ['x', 'scale', 'bias', 'mean', 'var']
        : [
            'x',
            b.constant(tensor('float64', [C], uniform(C, -2, 2, 4)), 'scale'),
            b.constant(tensor('float64', [C], uniform(C, -1, 1, 5)), 'bias'),
            b.constant(tensor('float64', [C], uniform(C, -1, 1, 6)), 'mean'),
            b.constant(tensor('float64', [C], variance), 'var'),
          ];
      return [b.op('BatchNormalization', names, { epsilon: { f: epsilon } })];
    },
  };
}

describe('BatchNormalization rule (inference)', () => {
  run([
    batchNormCase('NCHW, constant statistics', [2, 3, 4, 5], false),
    batchNormCase('NCHW, every input differentiated', [2, 3, 4, 5], true, 1e-3),
    batchNormCase('[N, C], every input differentiated', [4, 3], true),
    batchNormCase('NCL, constant statistics', [2, 4, 6], false, 0.1),
  ]);
});

// ---------------------------------------------------------------- InstanceNormalization (float32)

function instanceNormCase(label: string, shape: number[], epsilon = 1e-5): Case {
  const C = shape[1]!;
  return {
    name: `InstanceNormalization ${label}`,
    opts: { inputs: [{ name: 'x', shape }, { name: 'scale', shape: [C] }, { name: 'bias', shape: [C] }], ...float32Step },
    build: (b) => [inFloat32(b, 'InstanceNormalization', ['x', 'scale', 'bias'], { epsilon: { f: epsilon } })],
  };
}

describe('InstanceNormalization rule', () => {
  run([instanceNormCase('NCHW', [2, 3, 4, 5]), instanceNormCase('NCL, epsilon 0.1', [2, 2, 7], 0.1), instanceNormCase('NCDHW', [1, 2, 3, 2, 3])]);
});

// ---------------------------------------------------------------- LRN (float32)

function lrnCase(label: string, shape: number[], attrs: Record<string, AttrValue>): Case {
  return {
    name: `LRN ${label}`,
    opts: { inputs: [{ name: 'x', shape }], ...float32Step },
    build: (b) => [inFloat32(b, 'LRN', ['x'], attrs)],
  };
}

describe('LRN rule', () => {
  run([
    // Large alpha so that the cross-channel term is a sizeable part of the gradient.
    lrnCase('size 5 (GoogLeNet layout)', [2, 7, 3, 3], { size: { i: 5 }, alpha: { f: 0.5 }, beta: { f: 0.75 } }),
    lrnCase('size 3, bias 2', [1, 6, 2, 3], { size: { i: 3 }, alpha: { f: 0.8 }, beta: { f: 0.6 }, bias: { f: 2 } }),
    lrnCase('size 7 over 3 channels (window wider than the channels)', [2, 3, 2, 2], { size: { i: 7 }, alpha: { f: 1 }, beta: { f: 1.2 } }),
    lrnCase('defaults (alpha 1e-4)', [1, 5, 3, 3], { size: { i: 5 } }),
  ]);
});

// ---------------------------------------------------------------- LRN expanded into Conv + powers

describe('expandLRN', () => {
  const shape = [2, 7, 3, 4];
  for (const beta of [0.75, 0.6]) {
    const attrs = { size: { i: 5 }, alpha: { f: 0.5 }, beta: { f: beta }, bias: { f: 1.5 } };
    it(`computes onnxruntime's LRN (beta ${beta})`, async () => {
      const model = prepareModel(buildModel('float32', [{ name: 'x', shape }], (b) => [b.op('LRN', ['x'], attrs)]));
      const expanded = cloneModel(model);
      expect(expandLRN(expanded.graph)).toBe(1);
      expect(expanded.graph.nodes.some((n) => n.opType === 'LRN')).toBe(false);
      const rng = new Rng(9);
      const x = { dtype: 'float32' as const, dims: shape, data: rng.fillNormal(new Float32Array(2 * 7 * 12)) };
      const run = async (m: typeof model) => {
        const s = await Session.create(m, { threads: 1 });
        const out = (await s.run({ x }))[m.graph.outputs[0]!.name]!.data as Float32Array;
        await s.release();
        return out;
      };
      const [a, e] = [await run(model), await run(expanded)];
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - e[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(a[i]!)));
    });
    it(`the compiled program takes the LRN's direct gradient from the expansion's values (beta ${beta})`, () => {
      const model = prepareModel(buildModel('float32', [{ name: 'x', shape }], (b) => [b.op('LRN', ['x'], attrs)]));
      const prog = compileFused(model, { outputs: [model.graph.outputs[0]!.name], wrt: ['x'], seedOnes: true });
      const ops = prog.model.graph.nodes.map((n) => n.opType);
      // After the seed: g p - x * BandConv(g y / d), then the output's Identity (the chain of the Mul,
      // power, Conv and square rules would take 8 to 16 nodes).
      expect(ops.slice(ops.indexOf('Expand') + 1)).toEqual(['Mul', 'Mul', 'Div', 'Conv', 'Mul', 'Sub', 'Identity']);
    });
    it(`has the gradient of LRN (beta ${beta})`, async () => {
      const c: Case = {
        name: `expanded LRN beta ${beta}`,
        opts: { inputs: [{ name: 'x', shape }], ...float32Step },
        build: (b, g) => {
          const x32 = b.op('Cast', ['x'], { to: { i: 1 } });
          b.setType(x32, { dtype: 'float32', shape });
          const y = b.op('LRN', [x32], attrs);
          if (expandLRN(g) !== 1) throw new Error('LRN not expanded');
          return [b.op('Cast', [y], { to: { i: 11 } })];
        },
      };
      expect(await check(c)).toBeLessThan(TOL);
    });
  }
});

// ---------------------------------------------------------------- LayerNormalization (opset 17)

interface LayerNormSpec {
  label: string;
  shape: number[];
  axis?: number;
  /** Shape of Scale and B (default: x's normalized shape). */
  paramShape?: number[];
  bias?: boolean;
  epsilon?: number;
  /** Also return the Mean and InvStdDev outputs (so they carry gradients). */
  stats?: boolean;
}

function layerNormCase(s: LayerNormSpec): Case {
  const r = s.shape.length;
  const axis = s.axis ?? -1;
  const a = axis < 0 ? axis + r : axis;
  const pshape = s.paramShape ?? s.shape.slice(a);
  const inputs: CheckInput[] = [{ name: 'x', shape: s.shape }, { name: 'scale', shape: pshape }];
  if (s.bias !== false) inputs.push({ name: 'bias', shape: pshape });
  const attrs: Record<string, AttrValue> = { axis: { i: axis } };
  if (s.epsilon !== undefined) attrs['epsilon'] = { f: s.epsilon };
  return {
    name: `LayerNormalization ${s.label}`,
    // The float32 statistics round to ~6e-8: a step of 1e-3 keeps that ~1e-4 of the derivative (truncation ~1e-6).
    opts: { inputs, ...(s.stats ? { eps: 1e-3 } : {}) },
    build: (b) => {
      const ins = s.bias === false ? ['x', 'scale'] : ['x', 'scale', 'bias'];
      const outs = b.node('LayerNormalization', ins, attrs, s.stats ? 3 : 1);
      // Mean and InvStdDev are float32 (stash_type 1): cast them back for the float64 objective.
      return s.stats ? [outs[0]!, ...outs.slice(1).map((o) => b.op('Cast', [o], { to: { i: 11 } }))] : outs;
    },
  };
}

describe('LayerNormalization rule', () => {
  run([
    layerNormCase({ label: 'last axis (ViT tokens [N, L, D])', shape: [2, 5, 6] }),
    layerNormCase({ label: 'axis 1 over [C, H, W] (ConvNeXt stem as exported)', shape: [2, 3, 4, 4], axis: 1, epsilon: 1e-6 }),
    layerNormCase({ label: 'axis -2, no bias', shape: [2, 3, 4, 5], axis: -2, bias: false }),
    layerNormCase({ label: 'axis 2 with Scale and B broadcast from [W]', shape: [2, 3, 4, 5], axis: 2, paramShape: [5], epsilon: 0.1 }),
    layerNormCase({ label: 'axis 0 (everything normalized)', shape: [3, 4], axis: 0 }),
    layerNormCase({ label: 'with the Mean and InvStdDev outputs used', shape: [2, 3, 6], stats: true }),
  ]);
});
