// Gradient rules of data-movement ops against central finite differences, in float64 (onnxruntime has
// double kernels for all of them).
import { describe, expect, it } from 'vitest';
import type { GraphBuilder } from '../src/onnx/builder.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { compileFused } from '../src/autodiff/compile.ts';
import { buildModel, gradCheck, type CheckInput } from './helpers/gradcheck.ts';

const TOL = 1e-3;
const ints = (b: GraphBuilder, v: number[]) => b.constant(tensor('int64', [v.length], v));

async function expectGrad(inputs: CheckInput[], build: (b: GraphBuilder) => string[], wrt?: string[]) {
  const res = await gradCheck({ inputs, wrt }, (b) => build(b));
  if (!(res.relError < TOL)) console.error(res.worst);
  expect(res.relError).toBeLessThan(TOL);
  return res;
}

describe('Reshape family', () => {
  const x = [{ name: 'x', shape: [2, 3, 4] }];
  it('Reshape', () => expectGrad(x, (b) => [b.op('Reshape', ['x', ints(b, [4, -1])])]));
  it('Flatten axis 2', () => expectGrad(x, (b) => [b.op('Flatten', ['x'], { axis: { i: 2 } })]));
  it('Squeeze / Unsqueeze', () =>
    expectGrad([{ name: 'x', shape: [2, 1, 4] }], (b) => [
      b.op('Unsqueeze', [b.op('Squeeze', ['x', ints(b, [1])]), ints(b, [0, -1])]),
    ]));
});

describe('Transpose', () => {
  const x = [{ name: 'x', shape: [2, 3, 4] }];
  it('perm [2, 0, 1]', () => expectGrad(x, (b) => [b.op('Transpose', ['x'], { perm: { ints: [2, 0, 1] } })]));
  it('default perm (reversed)', () => expectGrad(x, (b) => [b.op('Transpose', ['x'])]));
});

describe('Concat', () => {
  const three = [
    { name: 'a', shape: [2, 1, 3] },
    { name: 'b', shape: [2, 2, 3] },
    { name: 'c', shape: [2, 3, 3] },
  ];
  it('axis 1, uneven inputs', () => expectGrad(three, (b) => [b.op('Concat', ['a', 'b', 'c'], { axis: { i: 1 } })]));
  it('axis -1, with a constant input and one input used twice', () =>
    expectGrad([{ name: 'a', shape: [2, 3] }], (b) => [
      b.op('Concat', ['a', b.constant(tensor('float64', [2, 1], [1, 2])), 'a'], { axis: { i: -1 } }),
    ]));
});

describe('Split', () => {
  const x = [{ name: 'x', shape: [2, 6, 3] }];
  it('uneven split sizes as input', () =>
    expectGrad(x, (b) => b.node('Split', ['x', ints(b, [1, 3, 2])], { axis: { i: 1 } }, 3)));
  it('equal split, negative axis', () => expectGrad(x, (b) => b.node('Split', ['x'], { axis: { i: -1 } }, 3)));
  it('an output nobody reads gets zeros', async () => {
    const res = await expectGrad(x, (b) => {
      const [p, , r] = b.node('Split', ['x', ints(b, [2, 1, 3])], { axis: { i: 1 } }, 3);
      return [p!, r!];
    });
    const g = res.gradients.get('x')!;
    // channel 2 of every [6, 3] slab went to the unused output
    for (let n = 0; n < 2; n++) for (let k = 0; k < 3; k++) expect(g[n * 18 + 2 * 3 + k]).toBe(0);
  });
});

describe('Slice', () => {
  const x = [{ name: 'x', shape: [4, 5, 6] }];
  const slice = (starts: number[], ends: number[], axes?: number[], steps?: number[]) => (b: GraphBuilder) => {
    const inputs = ['x', ints(b, starts), ints(b, ends)];
    if (axes) inputs.push(ints(b, axes));
    if (steps) inputs.push(ints(b, steps));
    return [b.op('Slice', inputs)];
  };
  it('one axis, step 1', () => expectGrad(x, slice([1], [3], [1])));
  it('default axes and steps', () => expectGrad(x, slice([1, 0], [3, 4])));
  it('negative starts and ends', () => expectGrad(x, slice([-3, -5], [-1, -2], [2, 1])));
  it('clamped starts and ends', () => expectGrad(x, slice([-100, 2], [100, 1000], [0, -1])));
  it('steps 2 and 3 (uneven), negative axis', () => expectGrad(x, slice([0, 1], [5, 6], [1, -1], [2, 3])));
  it('step -1 (reversal)', () => expectGrad(x, slice([-1], [-1000], [2], [-1])));
  it('step -2 with clamped start and partial end', () => expectGrad(x, slice([100, 4], [0, -1000], [1, 2], [-2, -3])));
  it('steps on all axes at once, mixed signs', () =>
    expectGrad(x, slice([3, 0, 5], [0, 5, 0], [0, 1, 2], [-2, 2, -1])));
  it('a single element read with a large step', () => expectGrad(x, slice([2], [3], [2], [5])));
});

describe('Gather', () => {
  const data = { name: 'd', shape: [4, 5, 3] };
  const idx = (b: GraphBuilder, dims: number[], v: number[]) => b.constant(tensor('int64', dims, v));
  it('axis 0, 2-D indices with repeats and a negative index', () =>
    expectGrad([data], (b) => [b.op('Gather', ['d', idx(b, [2, 2], [0, 3, 3, -1])], { axis: { i: 0 } })]));
  it('axis 1, scalar index', () => expectGrad([data], (b) => [b.op('Gather', ['d', idx(b, [], [2])], { axis: { i: 1 } })]));
  it('axis -1, repeated indices', () =>
    expectGrad([data], (b) => [b.op('Gather', ['d', idx(b, [4], [2, 0, 2, 2])], { axis: { i: -1 } })]));
  it('indices as a runtime (non-constant) input', () =>
    expectGrad(
      [data, { name: 'i', shape: [3], dtype: 'int64', values: [4, -5, 4] }],
      (b) => [b.op('Gather', ['d', 'i'], { axis: { i: 1 } })],
      ['d'],
    ));
  // Constant indices naming no position twice: the gradient is a Gather (no scatter).
  it('axis 1, a permutation with a negative index', () =>
    expectGrad([data], (b) => [b.op('Gather', ['d', idx(b, [5], [4, 0, -2, 1, 2])], { axis: { i: 1 } })]));
  it('axis 2, channel reversal (RGB <-> BGR)', () =>
    expectGrad([data], (b) => [b.op('Gather', ['d', idx(b, [3], [2, 1, 0])], { axis: { i: 2 } })]));
  it('axis 0, distinct 2-D indices leaving rows unread (they get zeros)', async () => {
    const res = await expectGrad([data], (b) => [b.op('Gather', ['d', idx(b, [1, 2], [3, -4])], { axis: { i: 0 } })]);
    const g = res.gradients.get('d')!;
    for (const row of [1, 2]) for (let k = 0; k < 15; k++) expect(g[row * 15 + k]).toBe(0);
  });
  it('constant distinct indices compile to a Gather, repeated ones to a scatter', () => {
    const opsOf = (values: number[]) => {
      const model = prepareModel(buildModel('float64', [data], (b) => [b.op('Gather', ['d', idx(b, [values.length], values)], { axis: { i: 1 } })]));
      const prog = compileFused(model, { outputs: [model.graph.outputs[0]!.name], wrt: ['d'], seedOnes: true });
      return prog.model.graph.nodes.map((n) => n.opType);
    };
    expect(opsOf([1, 0, 3])).not.toContain('ScatterElements');
    expect(opsOf([1, 0, 1])).toContain('ScatterElements');
  });
  it('GatherElements with repeats and a negative index', () =>
    expectGrad([{ name: 'd', shape: [3, 4] }], (b) => [
      b.op('GatherElements', ['d', idx(b, [3, 2], [0, 0, 3, -1, 1, 2])], { axis: { i: 1 } }),
    ]));
});

describe('Expand and Tile', () => {
  it('Expand [3, 1] to [2, 1, 4] (bidirectional: output [2, 3, 4])', () =>
    expectGrad([{ name: 'x', shape: [3, 1] }], (b) => [b.op('Expand', ['x', ints(b, [2, 1, 4])])]));
  it('Expand to the same shape', () => expectGrad([{ name: 'x', shape: [2, 3] }], (b) => [b.op('Expand', ['x', ints(b, [2, 3])])]));
  it('Tile [2, 3] by [2, 1]', () => expectGrad([{ name: 'x', shape: [2, 3] }], (b) => [b.op('Tile', ['x', ints(b, [2, 1])])]));
  it('Tile [2, 1, 3] by [1, 3, 2]', () =>
    expectGrad([{ name: 'x', shape: [2, 1, 3] }], (b) => [b.op('Tile', ['x', ints(b, [1, 3, 2])])]));
});
