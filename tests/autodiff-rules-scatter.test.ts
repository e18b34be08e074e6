// Gradient rules of the indexing ops exporters write for slice assignment and fancy indexing (ScatterND,
// ScatterElements, GatherND), of CumSum, and of torch.roll's Slice + Concat pattern, against central finite
// differences in float64.
import { describe, expect, it } from 'vitest';
import type { AttrValue } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { buildModel, checkCase, type GradCase } from './helpers/gradcheck.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { compileFused } from '../src/autodiff/compile.ts';

const TOL = 1e-6;

function run(cases: GradCase[]) {
  for (const c of cases)
    it(c.name, async () => {
      expect(await checkCase(c, TOL)).toBeLessThan(TOL);
    });
}

const idx = (shape: number[], values: number[]) => tensor('int64', shape, values);

function scatterCase(op: string, label: string, data: number[], indexShape: number[], index: number[], updates: number[], attrs: Record<string, AttrValue> = {}): GradCase {
  return {
    name: `${op} ${label}`,
    opts: { inputs: [{ name: 'data', shape: data }, { name: 'updates', shape: updates }] },
    // The objective also reads data directly, so data's gradient mixes both paths.
    build: (b) => {
      const y = b.op(op, ['data', b.constant(idx(indexShape, index), 'indices'), 'updates'], attrs);
      return [y, b.op('Mul', ['data', 'data'])];
    },
  };
}

describe('ScatterND and ScatterElements rules', () => {
  run([
    scatterCase('ScatterND', 'rows (x[[1, 3]] = u)', [4, 5], [2, 1], [1, 3], [2, 5]),
    scatterCase('ScatterND', 'elements', [4, 5], [3, 2], [0, 1, 2, 4, 3, 0], [3]),
    scatterCase('ScatterND', 'a channel of an image (x[:, 1] = u, as torch exports it)', [1, 3, 4, 4], [1, 2], [0, 1], [1, 4, 4]),
    scatterCase('ScatterND', 'reduction add, an index twice', [4, 3], [3, 1], [2, 0, 2], [3, 3], { reduction: { s: 'add' } }),
    scatterCase('ScatterElements', 'axis 1', [3, 5], [3, 2], [4, 0, 1, 2, 3, 0], [3, 2], { axis: { i: 1 } }),
    scatterCase('ScatterElements', 'axis 0, reduction add, an index twice', [3, 4], [2, 4], [1, 1, 0, 2, 1, 0, 0, 2], [2, 4], { reduction: { s: 'add' } }),
  ]);

  it("refuses reduction 'mul' in one line naming the node", () => {
    const model = prepareModel(
      buildModel('float64', [{ name: 'data', shape: [4, 3] }, { name: 'u', shape: [2, 3] }], (b) => [
        b.op('ScatterND', ['data', b.constant(idx([2, 1], [0, 2])), 'u'], { reduction: { s: 'mul' } }, 'sc'),
      ]),
    );
    expect(() => compileFused(model, { outputs: [model.graph.outputs[0]!.name], wrt: ['data'], seedOnes: true })).toThrow(
      "ScatterND node 'sc_node': reduction 'mul' has no gradient rule in fviz (only 'none' and 'add')",
    );
  });
});

describe('GatherND rule', () => {
  run([
    {
      name: 'GatherND rows and elements, an index twice',
      opts: { inputs: [{ name: 'x', shape: [4, 3, 2] }] },
      build: (b) => [
        b.op('GatherND', ['x', b.constant(idx([3, 1], [2, 0, 2]))]),
        b.op('GatherND', ['x', b.constant(idx([2, 2], [1, 2, 3, 0]))]),
      ],
    },
  ]);
});

describe('CumSum rule', () => {
  const cases: GradCase[] = [];
  for (const exclusive of [0, 1])
    for (const reverse of [0, 1])
      for (const axis of [1, -1])
        cases.push({
          name: `CumSum axis ${axis}, exclusive ${exclusive}, reverse ${reverse}`,
          opts: { inputs: [{ name: 'x', shape: [2, 4, 3] }] },
          build: (b) => [b.op('CumSum', ['x', b.constant(tensor('int64', [], [axis]))], { exclusive: { i: exclusive }, reverse: { i: reverse } })],
        });
  run(cases);
});

describe("torch.roll's Slice + Concat", () => {
  // torch.roll(x, shifts=(1, -2), dims=(2, 3)) as the TorchScript exporter writes it: per dim, the last
  // `shift` elements sliced off and concatenated in front.
  const slice = (b: import('../src/onnx/builder.ts').GraphBuilder, x: string, start: number, end: number, axis: number) =>
    b.op('Slice', [x, b.constant(idx([1], [start])), b.constant(idx([1], [end])), b.constant(idx([1], [axis]))]);
  run([
    {
      name: 'roll by (1, -2) over H, W',
      opts: { inputs: [{ name: 'x', shape: [1, 2, 4, 5] }] },
      build: (b) => {
        const h = b.op('Concat', [slice(b, 'x', -1, 2 ** 62, 2), slice(b, 'x', 0, -1, 2)], { axis: { i: 2 } });
        return [b.op('Concat', [slice(b, h, 2, 2 ** 62, 3), slice(b, h, 0, 2, 3)], { axis: { i: 3 } })];
      },
    },
  ]);
});

describe('DepthToSpace, SpaceToDepth and TopK rules', () => {
  run([
    {
      name: 'DepthToSpace DCR (tf2onnx)',
      opts: { inputs: [{ name: 'x', shape: [1, 8, 2, 3] }] },
      build: (b) => [b.op('DepthToSpace', ['x'], { blocksize: { i: 2 } })],
    },
    {
      name: 'DepthToSpace CRD (torch pixel_shuffle)',
      opts: { inputs: [{ name: 'x', shape: [2, 8, 2, 2] }] },
      build: (b) => [b.op('DepthToSpace', ['x'], { blocksize: { i: 2 }, mode: { s: 'CRD' } })],
    },
    {
      name: 'SpaceToDepth',
      opts: { inputs: [{ name: 'x', shape: [1, 2, 4, 6] }] },
      build: (b) => [b.op('SpaceToDepth', ['x'], { blocksize: { i: 2 } })],
    },
    {
      name: 'TopK values along axis 1',
      opts: { inputs: [{ name: 'x', shape: [2, 6, 3] }] },
      build: (b) => [b.node('TopK', ['x', b.constant(idx([1], [3]))], { axis: { i: 1 } }, 2)[0]!],
    },
  ]);
});
