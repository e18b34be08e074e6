// Reductions and softmax rules against central finite differences, float64.
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/onnx/builder.ts';
import type { AttrValue } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { Rng } from '../src/util/rng.ts';
import { gradCheck, type CheckInput } from './helpers/gradcheck.ts';

const TOL = 1e-3;
const x: CheckInput[] = [{ name: 'x', shape: [2, 3, 4] }];

async function expectGrad(inputs: CheckInput[], build: (b: GraphBuilder) => string[]) {
  const res = await gradCheck({ inputs }, (b) => build(b));
  if (!(res.relError < TOL)) console.error(res.worst);
  expect(res.relError).toBeLessThan(TOL);
  return res;
}

function positive(n: number, seed = 3): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.uniform(0.2, 2));
}

describe('ReduceSum (axes input) and ReduceMean (axes attribute)', () => {
  const variants: [string, number[] | undefined, number][] = [
    ['axis 1, keepdims 1', [1], 1],
    ['axis 1, keepdims 0', [1], 0],
    ['axes [-1, 0], keepdims 0', [-1, 0], 0],
    ['all axes (absent), keepdims 0', undefined, 0],
    ['all axes (absent), keepdims 1', undefined, 1],
  ];
  for (const [label, axes, keepdims] of variants) {
    it(`ReduceSum ${label}`, () =>
      expectGrad(x, (b) => {
        const inputs = ['x'];
        if (axes) inputs.push(b.constant(tensor('int64', [axes.length], axes)));
        return [b.op('ReduceSum', inputs, { keepdims: { i: keepdims } })];
      }));
    it(`ReduceMean ${label}`, () =>
      expectGrad(x, (b) => {
        const attrs: Record<string, AttrValue> = { keepdims: { i: keepdims } };
        if (axes) attrs['axes'] = { ints: axes };
        return [b.op('ReduceMean', ['x'], attrs)];
      }));
  }
  it('ReduceSum with noop_with_empty_axes passes the gradient through', () =>
    expectGrad(x, (b) => [b.op('ReduceSum', ['x'], { noop_with_empty_axes: { i: 1 } })]));
});

describe('other reductions', () => {
  const reduce = (op: string, axes: number[] | undefined, keepdims: number) => (b: GraphBuilder) => {
    const attrs: Record<string, AttrValue> = { keepdims: { i: keepdims } };
    if (axes) attrs['axes'] = { ints: axes };
    return [b.op(op, ['x'], attrs)];
  };
  for (const op of ['ReduceMax', 'ReduceMin', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp']) {
    it(`${op} axis 1, keepdims 0`, () => expectGrad(x, reduce(op, [1], 0)));
    it(`${op} axes [0, -1], keepdims 1`, () => expectGrad(x, reduce(op, [0, -1], 1)));
    it(`${op} all axes`, () => expectGrad(x, reduce(op, undefined, 0)));
  }
  it('ReduceL1 (values away from 0)', () =>
    expectGrad([{ name: 'x', shape: [2, 3, 4], values: positive(24).map((v, k) => (k % 3 ? v : -v)) }], reduce('ReduceL1', [2], 0)));
  it('ReduceLogSum (positive values)', () =>
    expectGrad([{ name: 'x', shape: [2, 3, 4], values: positive(24) }], reduce('ReduceLogSum', [1, 2], 1)));

  it('ReduceMax two-way ties split the gradient in halves, which central differences agree with', async () => {
    const values = [1, 3, 3, 0, 2, -2, 2, -1, 0, 5, 1, 4];
    const res = await expectGrad([{ name: 'x', shape: [3, 4], values }], reduce('ReduceMax', [1], 0));
    const g = res.gradients.get('x')!;
    expect(g[1]).toBe(g[2]);
    expect(g[4]).toBe(g[6]);
  });

  it('ReduceMax three-way ties give each a third of the gradient', async () => {
    // Same seed, same projection R: the unique maximum receives R, each of three tied ones R / 3.
    const run = (values: number[]) =>
      gradCheck({ inputs: [{ name: 'x', shape: [4], values }], samples: 0 }, reduce('ReduceMax', undefined, 0));
    const unique = (await run([2, -1, 0, 1])).gradients.get('x')!;
    const tied = (await run([2, 2, -1, 2])).gradients.get('x')!;
    expect(unique[0]).not.toBe(0);
    for (const k of [0, 1, 3]) expect(tied[k]).toBeCloseTo(unique[0]! / 3, 12);
    expect(Math.abs(tied[2]!)).toBe(0);
  });

  it('ReduceL2 of an all-zero slice gives 0, not NaN', async () => {
    const values = [0, 0, 0, 1, -2, 0.5];
    const res = await gradCheck({ inputs: [{ name: 'x', shape: [2, 3], values }], samples: 0 }, reduce('ReduceL2', [1], 0));
    expect([...res.gradients.get('x')!].slice(0, 3).map(Math.abs)).toEqual([0, 0, 0]);
  });
});

describe('Softmax and LogSoftmax', () => {
  for (const op of ['Softmax', 'LogSoftmax'])
    for (const axis of [0, 1, -1]) it(`${op} axis ${axis}`, () => expectGrad(x, (b) => [b.op(op, ['x'], { axis: { i: axis } })]));
  it('Softmax default axis (-1) on [N, K] logits', () =>
    expectGrad([{ name: 'x', shape: [3, 5] }], (b) => [b.op('Softmax', ['x'])]));
});
