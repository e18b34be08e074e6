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
import { convTransposeAsConv } from '../src/autodiff/rewrites/convTransposeAsConv.ts';
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
