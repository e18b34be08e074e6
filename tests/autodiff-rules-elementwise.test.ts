// Elementwise gradient rules against central finite differences (tests/helpers/gradcheck.ts).
// float64 where onnxruntime has double kernels for every op in the graph; the cases marked float32 use
// ops with float-only CPU kernels, checked with step 1e-2: the central-difference truncation error is
// ~eps^2 |f'''| / 6 ~ 2e-5 and the rounding error ~ 6e-8 |J| / eps ~ 1e-5 for these small graphs, both
// far below the 1e-3 bound.
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/onnx/builder.ts';
import type { Graph } from '../src/onnx/ir.ts';
import { dtypeCode } from '../src/onnx/proto.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { Rng } from '../src/util/rng.ts';
import { gradCheck, type GradCheckOptions, checkCase, type GradCase } from './helpers/gradcheck.ts';

const TOL = 1e-3;

/** Standard normal values pushed at least `gap` away from 0 (kinks of Relu, Abs, ...). */
function awayFromZero(gap = 0.1) {
  return (v: number) => v + (v >= 0 ? gap : -gap);
}

/** `n` values uniform in [lo, hi). */
function uniform(n: number, lo: number, hi: number, seed = 7): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.uniform(lo, hi));
}

type Case = GradCase;
const check = (c: Case) => checkCase(c, TOL);

const x234 = { name: 'x', shape: [2, 3, 4] };

/** One op applied to x, with attributes. */
function unaryCase(op: string, opts: Partial<GradCheckOptions> = {}, attrs = {}): Case {
  return {
    name: `${op}${Object.keys(attrs).length ? ` ${JSON.stringify(attrs)}` : ''} ${opts.dtype ?? 'float64'}`,
    opts: { inputs: [x234], ...opts },
    build: (b) => [b.op(op, ['x'], attrs)],
  };
}

const f32 = { dtype: 'float32' as const };

const unaryCases: Case[] = [
  unaryCase('Relu', { transform: awayFromZero() }),
  unaryCase('LeakyRelu', { ...f32, transform: awayFromZero() }),
  unaryCase('LeakyRelu', { ...f32, transform: awayFromZero() }, { alpha: { f: 0.3 } }),
  // A negative slope makes y > 0 for x < 0: the mask must then read x, not y.
  unaryCase('LeakyRelu', { ...f32, transform: awayFromZero() }, { alpha: { f: -0.5 } }),
  unaryCase('Elu', { ...f32, transform: awayFromZero() }),
  unaryCase('Elu', { ...f32, transform: awayFromZero() }, { alpha: { f: 0.5 } }),
  unaryCase('Selu', { ...f32, transform: awayFromZero() }),
  unaryCase('Selu', { ...f32, transform: awayFromZero() }, { alpha: { f: 1.5 }, gamma: { f: 2 } }),
  unaryCase('Sigmoid'),
  unaryCase('HardSigmoid', { ...f32, transform: (v) => 2 * v }, { alpha: { f: 0.25 }, beta: { f: 0.4 } }),
  unaryCase('HardSwish', { ...f32, transform: (v) => 3 * v }),
  unaryCase('Tanh'),
  unaryCase('Softplus', f32),
  unaryCase('Softsign', f32),
  unaryCase('Exp'),
  unaryCase('Neg'),
  unaryCase('Abs', { transform: awayFromZero() }),
  unaryCase('Log', { inputs: [{ ...x234, values: uniform(24, 0.2, 3) }] }),
  unaryCase('Sqrt', { inputs: [{ ...x234, values: uniform(24, 0.2, 3) }] }),
  unaryCase('Reciprocal', { transform: awayFromZero(0.3) }),
  unaryCase('Erf', f32),
  unaryCase('Sin'),
  unaryCase('Cos'),
  unaryCase('Celu', { ...f32, transform: awayFromZero() }),
  unaryCase('Celu', { ...f32, transform: awayFromZero() }, { alpha: { f: 0.5 } }),
  // Inputs kept 0.1 away from the kinks at alpha = 0.5 and |x| = lambd = 0.5.
  unaryCase('ThresholdedRelu', { ...f32, transform: (v) => (v >= 0.5 ? v + 0.1 : v - 0.1) }, { alpha: { f: 0.5 } }),
  unaryCase('Shrink', { ...f32, transform: (v) => (Math.abs(v) >= 0.5 ? v + Math.sign(v) * 0.1 : v * 0.8) }, { lambd: { f: 0.5 }, bias: { f: 0.2 } }),
];

describe('unary rules', () => {
  for (const c of unaryCases)
    it(c.name, async () => {
      expect(await check(c)).toBeLessThan(TOL);
    });

  it('Gelu written with Erf (as PyTorch exports it at opset 17)', async () => {
    const err = await check({
      name: 'gelu',
      opts: { ...f32, inputs: [x234] },
      build: (b) => {
        const s = b.op('Div', ['x', b.constant(tensor('float32', [], [Math.SQRT2]))]);
        const e = b.op('Add', [b.op('Erf', [s]), b.constant(tensor('float32', [], [1]))]);
        return [b.op('Mul', [b.op('Mul', ['x', e]), b.constant(tensor('float32', [], [0.5]))])];
      },
    });
    expect(err).toBeLessThan(TOL);
  });

  it('piecewise-constant ops (Floor, Round, Sign, Ceil) pass no gradient', async () => {
    // y = x * (Floor(x) + Round(x) + Sign(x) + Ceil(x)): dy/dx = the bracket, away from the jumps.
    const values = uniform(24, -3, 3, 3).map((v) => Math.round(v * 4) / 4 + 0.1);
    const res = await gradCheck({ inputs: [{ ...x234, values }] }, (b) => {
      const s = b.op('Sum', [b.op('Floor', ['x']), b.op('Round', ['x']), b.op('Sign', ['x']), b.op('Ceil', ['x'])]);
      return [b.op('Mul', ['x', s])];
    });
    expect(res.relError).toBeLessThan(TOL);
  });
});

describe('Clip', () => {
  const clip = (min?: number, max?: number): Case => ({
    name: `Clip ${min} ${max}`,
    opts: { inputs: [x234], transform: (v) => Math.round(v * 8) / 8 + 1 / 16 }, // never within 1/16 of a bound
    build: (b) => {
      const lo = min === undefined ? '' : b.constant(tensor('float64', [], [min]));
      const hi = max === undefined ? '' : b.constant(tensor('float64', [], [max]));
      const inputs = ['x', lo, hi];
      while (inputs[inputs.length - 1] === '') inputs.pop();
      return [b.op('Clip', inputs)];
    },
  });
  it('both bounds', async () => expect(await check(clip(-0.5, 0.75))).toBeLessThan(TOL));
  it('min only', async () => expect(await check(clip(-0.25))).toBeLessThan(TOL));
  it('max only (min absent)', async () => expect(await check(clip(undefined, 0.5))).toBeLessThan(TOL));
  it('no bounds', async () => expect(await check(clip())).toBeLessThan(TOL));

  it('bounds that are differentiated inputs get the gradient of the values they replaced', async () => {
    const res = await gradCheck(
      {
        inputs: [x234, { name: 'lo', shape: [], values: [-0.4] }, { name: 'hi', shape: [], values: [0.6] }],
        transform: (v) => Math.round(v * 8) / 8 + 1 / 16,
      },
      (b) => [b.op('Clip', ['x', 'lo', 'hi'])],
    );
    expect(res.relError).toBeLessThan(TOL);
    expect(Math.abs(res.gradients.get('lo')![0]!)).toBeGreaterThan(0);
    expect(Math.abs(res.gradients.get('hi')![0]!)).toBeGreaterThan(0);
  });

  it('crossed bounds (min > max) give everything to max, as onnxruntime outputs max', async () => {
    const res = await gradCheck(
      { inputs: [x234, { name: 'lo', shape: [], values: [0.5] }, { name: 'hi', shape: [], values: [-0.5] }] },
      (b) => [b.op('Clip', ['x', 'lo', 'hi'])],
    );
    expect(res.relError).toBeLessThan(TOL);
    expect([...res.gradients.get('x')!].every((v) => v === 0)).toBe(true);
  });

  it('a value exactly on a bound passes the gradient (inclusive bounds, documented in Clip.ts)', async () => {
    const values = [-1, -0.5, 0, 0.5, 1, 2];
    const res = await gradCheck({ inputs: [{ name: 'x', shape: [6], values }] }, (b) => [
      b.op('Clip', ['x', b.constant(tensor('float64', [], [-0.5])), b.constant(tensor('float64', [], [1]))]),
    ]);
    const g = res.gradients.get('x')!;
    // The projection R is random and nonzero: zero exactly where clipped strictly.
    expect([...g].map((v) => v !== 0)).toEqual([false, true, true, true, true, false]);
  });
});

describe('binary and variadic rules with broadcasting', () => {
  const binary = (op: string, a: number[], bShape: number[], opts: Partial<GradCheckOptions> = {}): Case => ({
    name: `${op} [${a}] [${bShape}]`,
    opts: { inputs: [{ name: 'a', shape: a }, { name: 'b', shape: bShape }], ...opts },
    build: (b) => [b.op(op, ['a', 'b'])],
  });
  const shapes: [number[], number[]][] = [
    [[2, 3, 4], [2, 3, 4]],
    [[2, 3, 4], [4]], // b broadcast
    [[3, 1], [2, 3, 4]], // a broadcast
    [[2, 1, 4], [3, 1]], // both broadcast
    [[2, 3, 4], []], // scalar
  ];
  for (const op of ['Add', 'Sub', 'Mul'])
    for (const [a, bs] of shapes) it(`${op} [${a}] [${bs}]`, async () => expect(await check(binary(op, a, bs))).toBeLessThan(TOL));

  for (const [a, bs] of shapes)
    it(`Div [${a}] [${bs}]`, async () =>
      expect(await check(binary('Div', a, bs, { transform: awayFromZero(0.5) }))).toBeLessThan(TOL));

  it('Pow: base and exponent both differentiated, broadcasting both ways', async () => {
    const res = await gradCheck(
      {
        inputs: [
          { name: 'a', shape: [2, 1, 4], values: uniform(8, 0.3, 2, 1) },
          { name: 'b', shape: [3, 1], values: uniform(3, -1.5, 2.5, 2) },
        ],
      },
      (b) => [b.op('Pow', ['a', 'b'])],
    );
    expect(res.relError).toBeLessThan(TOL);
  });

  it('Pow with a constant integer exponent and negative or zero bases', async () => {
    const values = [-2, -1.5, -0.3, 0, 0.7, 1.2];
    for (const e of [2, 3]) {
      const res = await gradCheck({ inputs: [{ name: 'a', shape: [6], values }] }, (b) => [
        b.op('Pow', ['a', b.constant(tensor('int64', [], [e]))]),
      ]);
      expect(res.relError).toBeLessThan(TOL);
      res.gradients.get('a')!.forEach((v) => expect(Number.isFinite(v)).toBe(true));
    }
  });

  it('Pow exponent gradient is 0 (not NaN) where the base is 0', async () => {
    const res = await gradCheck(
      { inputs: [{ name: 'a', shape: [3], values: [0, 0.5, 2] }, { name: 'b', shape: [3], values: [2, 1.5, 0.5] }], wrt: ['b'] },
      (b) => [b.op('Pow', ['a', 'b'])],
    );
    expect(res.relError).toBeLessThan(TOL);
    expect(Math.abs(res.gradients.get('b')![0]!)).toBe(0);
  });

  const variadicInputs = [
    { name: 'a', shape: [2, 3, 4] },
    { name: 'b', shape: [4] },
    { name: 'c', shape: [3, 1] },
  ];
  // onnxruntime has no double kernel for Mean
  for (const [op, dtype] of [['Sum', 'float64'], ['Mean', 'float32'], ['Max', 'float64'], ['Min', 'float64']] as const)
    it(`${op} of three broadcasting inputs (${dtype})`, async () => {
      const res = await gradCheck({ dtype, inputs: variadicInputs }, (b) => [b.op(op, ['a', 'b', 'c'])]);
      expect(res.relError).toBeLessThan(TOL);
    });

  it('Max and Min of one input pass the gradient through', async () => {
    for (const op of ['Max', 'Min']) {
      const res = await gradCheck({ inputs: [x234] }, (b) => [b.op(op, ['x'])]);
      expect(res.relError).toBeLessThan(TOL);
    }
  });

  it('Max ties split the gradient, which central differences agree with', async () => {
    // Max(x, x): the total is g. Max(x, 0.5) at x = 0.5: each side gets half, as (f(c+e) - f(c-e)) / 2e does.
    const values = [0.5, -1, 0.5, 2];
    const res = await gradCheck({ inputs: [{ name: 'x', shape: [4], values }] }, (b) => [
      b.op('Max', ['x', 'x']),
      b.op('Max', ['x', b.constant(tensor('float64', [], [0.5]))]),
      b.op('Min', ['x', b.constant(tensor('float64', [4], [0.5, 0.5, 1, 1]))]),
    ]);
    expect(res.relError).toBeLessThan(TOL);
  });

  it('Where: both branches broadcast, condition constant', async () => {
    const cond = b0(new Rng(5), 12);
    const res = await gradCheck({ inputs: [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4] }] }, (b) => [
      b.op('Where', [b.constant(tensor('bool', [3, 4], cond)), 'a', 'b']),
    ]);
    expect(res.relError).toBeLessThan(TOL);
  });

  it('Where with a condition computed from the differentiated value', async () => {
    const res = await gradCheck({ inputs: [x234], transform: awayFromZero() }, (b) => {
      const cond = b.op('Greater', ['x', b.constant(tensor('float64', [], [0]))]);
      return [b.op('Where', [cond, b.op('Mul', ['x', 'x']), b.op('Neg', ['x'])])];
    });
    expect(res.relError).toBeLessThan(TOL);
  });

  it('PRelu: input and per-channel slope', async () => {
    const res = await gradCheck(
      { dtype: 'float32', inputs: [{ name: 'x', shape: [2, 3, 2, 2] }, { name: 's', shape: [3, 1, 1], values: [0.1, 0.25, -0.5] }], transform: awayFromZero() },
      (b) => [b.op('PRelu', ['x', 's'])],
    );
    expect(res.relError).toBeLessThan(TOL);
  });
});

function b0(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
}

describe('Cast', () => {
  it('float -> float passes the gradient (float32 <-> float64)', async () => {
    const res = await gradCheck({ dtype: 'float32', inputs: [x234] }, (b) => {
      const d = b.op('Cast', ['x'], { to: { i: dtypeCode('float64') } });
      const e = b.op('Exp', [b.op('Mul', [d, b.constant(tensor('float64', [], [0.5]))])]);
      return [b.op('Cast', [e], { to: { i: dtypeCode('float32') } })];
    });
    expect(res.relError).toBeLessThan(TOL);
  });

  it('a cast to an integer stops the gradient', async () => {
    // y = x * float(int(x)) + x: dy/dx = trunc(x) + 1 away from integers.
    const values = uniform(24, -3, 3, 4).map((v) => Math.round(v) + 0.3);
    const res = await gradCheck({ inputs: [{ ...x234, values }] }, (b) => {
      const i = b.op('Cast', ['x'], { to: { i: dtypeCode('int64') } });
      const f = b.op('Cast', [i], { to: { i: dtypeCode('float64') } });
      return [b.op('Add', [b.op('Mul', ['x', f]), 'x'])];
    });
    expect(res.relError).toBeLessThan(TOL);
  });
});

describe('graph structure', () => {
  it('sums the gradients of a value read by several consumers (diamond)', async () => {
    //      x
    //   /  |  \
    //  exp sin x*x
    //   \  |  /
    //     sum   -> and x feeds the sum once more directly
    const res = await gradCheck({ inputs: [x234] }, (b) => {
      const a = b.op('Exp', ['x']);
      const s = b.op('Sin', ['x']);
      const q = b.op('Mul', ['x', 'x']);
      const m = b.op('Mul', [a, s]); // a second level: a and s both from x
      return [b.op('Sum', [m, q, 'x'])];
    });
    expect(res.relError).toBeLessThan(TOL);
  });

  it('differentiates with respect to an initializer (weights) as well as an input', async () => {
    const res = await gradCheck({ inputs: [{ name: 'x', shape: [2, 3] }], wrt: ['x', 'w'] }, (b) => {
      const w = b.constant(tensor('float64', [3], [0.5, -1, 2]), 'w');
      return [b.op('Tanh', [b.op('Mul', ['x', w])])];
    });
    expect(res.relError).toBeLessThan(TOL);
    expect(res.gradients.has('w')).toBe(true);
  });

  it('tolerates Shape-derived constants and integer side paths on the way', async () => {
    // x -> Shape -> Gather -> Cast(float) -> Mul(x): the shape path has no gradient.
    const res = await gradCheck({ inputs: [x234] }, (b) => {
      const shape = b.op('Shape', ['x']);
      const last = b.op('Gather', [shape, b.constant(tensor('int64', [], [2]))], { axis: { i: 0 } });
      const f = b.op('Cast', [last], { to: { i: dtypeCode('float64') } });
      const c = b.op('Constant', [], { value: { t: tensor('float64', [], [0.25]) } });
      return [b.op('Mul', [b.op('Mul', ['x', f]), b.op('Add', ['x', c])])];
    });
    expect(res.relError).toBeLessThan(TOL);
  });
});
