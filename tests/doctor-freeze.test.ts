// fviz doctor's finite differences run on a copy of the model with every piecewise decision (ReLU masks,
// max-pool arg-maxes, clip regions, comparisons, ...) frozen at the input. The copy must equal the model at
// the input, be smooth along a segment whose steps flip many decisions of the model, agree there with the
// compiled gradient of the model, and still expose a wrong gradient rule.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { doctor } from '../src/optvis/objectives/doctor.ts';
import { DecisionRecorder, decisionNodes, freezeModel } from '../src/autodiff/freeze-decisions.ts';
import { rules } from '../src/autodiff/rules/index.ts';
import type { GradRule } from '../src/autodiff/context.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import type { AttrValue, Model, TensorData } from '../src/onnx/ir.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { saveModel } from '../src/onnx/proto.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { writeNpy } from '../src/runtime/npy.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { pytorchCnn, randomInput, randomWeights } from './helpers/models.ts';

const dir = mkdtempSync(join(tmpdir(), 'fviz-doctor-freeze-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const threads = 1;

type Body = (b: GraphBuilder, pre: string, c: (t: TensorData) => string) => string;

/** x [1,3,8,8] -> Conv 3x3 (4 channels, pre-activations ~ N(0, 1)) -> `body` -> output 'y'. */
function kinkModel(body: Body, extraOutputs: { name: string; dtype: TensorData['dtype'] }[] = []): Model {
  const rng = new Rng(21);
  const g = emptyGraph('kink');
  const b = new GraphBuilder(g);
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 3, 8, 8] });
  const c = (t: TensorData) => b.constant(t, 'c');
  const w = c(randomWeights(rng, [4, 3, 3, 3]));
  const bias = c(randomWeights(rng, [4], 1));
  const pre = b.op('Conv', ['x', w, bias], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }, 'pre');
  const y = body(b, pre, c);
  b.node('Identity', [y], {}, ['y']);
  g.outputs = [{ name: 'y', dtype: 'float32', shape: [] }, ...extraOutputs.map((o) => ({ ...o, shape: [] }))];
  return emptyModel(g);
}

const f = (dims: number[], values: number[]) => tensor('float32', dims, values);
const one = (op: string, attrs: Record<string, AttrValue> = {}): Body => (b, pre) => b.op(op, [pre], attrs);

const KINDS: { name: string; body: Body; decisions: number; linear?: boolean }[] = [
  { name: 'Relu', body: one('Relu'), decisions: 256, linear: true },
  { name: 'LeakyRelu', body: one('LeakyRelu', { alpha: { f: 0.1 } }), decisions: 256, linear: true },
  { name: 'PRelu (per-channel slope)', body: (b, pre, c) => b.op('PRelu', [pre, c(f([4, 1, 1], [0.1, -0.2, 0.3, 0.05]))]), decisions: 256, linear: true },
  { name: 'Elu', body: one('Elu', { alpha: { f: 0.7 } }), decisions: 256 },
  { name: 'Selu', body: one('Selu'), decisions: 256 },
  { name: 'Clip (min and max)', body: (b, pre, c) => b.op('Clip', [pre, c(f([], [-0.3])), c(f([], [0.4]))]), decisions: 256, linear: true },
  { name: 'Clip (min omitted)', body: (b, pre, c) => b.op('Clip', [pre, '', c(f([], [0.2]))]), decisions: 256, linear: true },
  { name: 'HardSigmoid', body: one('HardSigmoid', { alpha: { f: 0.9 }, beta: { f: 0.4 } }), decisions: 256, linear: true },
  { name: 'HardSwish', body: (b, pre, c) => b.op('HardSwish', [b.op('Mul', [pre, c(f([], [5]))])]), decisions: 256 },
  { name: 'Abs', body: one('Abs'), decisions: 256, linear: true },
  {
    name: 'Max (three inputs, broadcast)',
    body: (b, pre, c) => b.op('Max', [pre, c(f([4, 1, 1], [0.2, -0.1, 0, 0.5])), b.op('Mul', [pre, c(f([], [-0.5]))])]),
    decisions: 256,
    linear: true,
  },
  { name: 'Min (two inputs)', body: (b, pre, c) => b.op('Min', [pre, b.op('Neg', [pre])]), decisions: 256, linear: true },
  { name: 'ReduceMax over H, W', body: one('ReduceMax', { axes: { ints: [2, 3] }, keepdims: { i: 1 } }), decisions: 256, linear: true },
  { name: 'ReduceMin over C (keepdims 0)', body: one('ReduceMin', { axes: { ints: [1] }, keepdims: { i: 0 } }), decisions: 256, linear: true },
  { name: 'ReduceL1', body: one('ReduceL1', { axes: { ints: [2, 3] }, keepdims: { i: 1 } }), decisions: 256, linear: true },
  { name: 'GlobalMaxPool', body: one('GlobalMaxPool'), decisions: 256, linear: true },
  {
    name: 'MaxPool (3x3, stride 2, padded)',
    body: one('MaxPool', { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] } }),
    decisions: 64,
    linear: true,
  },
  {
    name: 'MaxPool after Relu (ties among zeros)',
    body: (b, pre) => b.op('MaxPool', [b.op('Relu', [pre])], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }),
    decisions: 256 + 64,
    linear: true,
  },
  {
    name: 'Where over a comparison',
    body: (b, pre, c) => b.op('Where', [b.op('Greater', [pre, c(f([], [0.2]))]), pre, b.op('Mul', [pre, c(f([], [0.3]))])]),
    decisions: 256,
    linear: true,
  },
  { name: 'Sign', body: (b, pre) => b.op('Mul', [pre, b.op('Sign', [pre])]), decisions: 256, linear: true },
  { name: 'Floor', body: (b, pre, c) => b.op('Add', [pre, b.op('Floor', [b.op('Mul', [pre, c(f([], [2]))])])]), decisions: 256, linear: true },
];

async function runFrozen(model: Model, x: TensorData, outputs: string[]) {
  const rec = await DecisionRecorder.create(model, ['x'], outputs, { threads });
  try {
    const at0 = await rec.record({ x });
    const frozen = freezeModel(model, ['x'], at0.decisions);
    const s = await Session.create(frozen, { threads });
    try {
      return { original: at0.outputs, frozen: await s.run({ x }, outputs), decisions: DecisionRecorder.count(at0.decisions), frozenModel: frozen };
    } finally {
      await s.release();
    }
  } finally {
    await rec.release();
  }
}

function maxRelDiff(a: TensorData, b: TensorData): number {
  expect(b.dims).toEqual(a.dims);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.data.length; i++) {
    err = Math.max(err, Math.abs(Number(a.data[i]) - Number(b.data[i])));
    scale = Math.max(scale, Math.abs(Number(a.data[i])));
  }
  return err / Math.max(scale, 1e-30);
}

describe('decision-frozen copy', () => {
  const x = randomInput(new Rng(5), [1, 3, 8, 8]);

  for (const kind of KINDS)
    describe(kind.name, () => {
      const model = prepareModel(kinkModel(kind.body));

      it('equals the model at the input, with every kink node replaced', async () => {
        const r = await runFrozen(model, x, ['y']);
        expect(maxRelDiff(r.original['y']!, r.frozen['y']!)).toBeLessThanOrEqual(1e-6);
        expect(r.decisions).toBe(kind.decisions);
        expect(decisionNodes(r.frozenModel.graph, ['x'])).toEqual([]);
      });

      it('fviz doctor: the compiled gradient matches central differences of the copy, across flipped decisions', async () => {
        const path = join(dir, `${kind.name.replace(/\W+/g, '_')}.onnx`);
        saveModel(kinkModel(kind.body), path);
        const rep = await doctor(path, { objective: 'y:1', input: x, directions: 3, threads });
        const c = rep.check!;
        expect(c.frozenDecisions).toBe(kind.decisions);
        expect(c.frozenValueError).toBeLessThanOrEqual(1e-6);
        expect(c.mismatch).toBeUndefined();
        expect(c.worstRelError, JSON.stringify(c.results)).toBeLessThan(1e-4);
        // A piecewise-linear kink leaves an affine copy: the largest step (the input's RMS) is exact, and
        // it flips decisions of the model that would throw plain central differences off.
        if (kind.linear) expect(c.results.some((d) => (d.flips ?? 0) > 0 && d.step >= 0.3)).toBe(true);
      });
    });

  // Kinks whose gradient rules live on other branches: the copy alone.
  for (const [name, body] of [
    ['ThresholdedRelu', one('ThresholdedRelu', { alpha: { f: 0.3 } })],
    ['Shrink', one('Shrink', { lambd: { f: 0.4 }, bias: { f: 0.1 } })],
    ['Celu', one('Celu', { alpha: { f: 0.8 } })],
  ] as [string, Body][])
    it(`${name}: the copy equals the model at the input`, async () => {
      const r = await runFrozen(prepareModel(kinkModel(body)), x, ['y']);
      expect(maxRelDiff(r.original['y']!, r.frozen['y']!)).toBeLessThanOrEqual(1e-6);
      expect(r.decisions).toBe(256);
      expect(decisionNodes(r.frozenModel.graph, ['x'])).toEqual([]);
    });

  it('freezes a used max-pool Indices output and a TopK to constants, keeping both values', async () => {
    const model = prepareModel(
      kinkModel(
        (b, pre, c) => {
          b.node('MaxPool', [pre], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }, ['pooled', 'idx']);
          b.node('TopK', ['pooled', c(tensor('int64', [1], [2]))], { axis: { i: 1 } }, ['top', 'topIdx']);
          return 'top';
        },
        [
          { name: 'idx', dtype: 'int64' },
          { name: 'topIdx', dtype: 'int64' },
        ],
      ),
    );
    const r = await runFrozen(model, x, ['y', 'idx', 'topIdx']);
    for (const o of ['y', 'idx', 'topIdx']) expect(maxRelDiff(r.original[o]!, r.frozen[o]!), o).toBe(0);
    expect(r.frozenModel.graph.nodes.some((n) => n.opType === 'MaxPool' || n.opType === 'TopK')).toBe(false);
  });
});

describe('fviz doctor on a ReLU / max-pool CNN', () => {
  // PyTorch-style CNN (Conv, BatchNorm, Relu, MaxPool, Conv, Relu, Gemm) on a 32x32 input. The check before
  // decision freezing (plain float32 central differences of the model, steps 1e-2..3e-4, same seed and
  // objective) gave relative errors 2.7e-4, 2.5e-3 and 1.4e-2 here: kinks crossed by every step.
  const path = join(dir, 'cnn.onnx');
  saveModel(pytorchCnn({ size: 32, seed: 4 }), path);

  it('passes at its random input, with decisions flipping within the steps', async () => {
    const rep = await doctor(path, { threads, directions: 3, objective: 'class:3' });
    const c = rep.check!;
    expect(rep.missing).toEqual([]);
    expect(c.frozenValueError).toBeLessThanOrEqual(1e-6);
    expect(c.worstRelError, JSON.stringify(c.results)).toBeLessThan(1e-4);
    expect(c.results.every((d) => (d.flips ?? 0) > 0)).toBe(true);
  });

  it('still catches a wrong gradient rule: a ReLU mask that leaks below zero', async () => {
    const right = rules['Relu']!;
    const leaky: GradRule = (node, ctx) => {
      const g = ctx.grad(node.outputs[0]!);
      if (!g) return;
      const x = node.inputs[0]!;
      const mask = ctx.castLike(ctx.emit('Greater', [x, ctx.scalar(-0.05, x)]), x);
      ctx.addGrad(x, ctx.emit('Mul', [g, mask]));
    };
    rules['Relu'] = leaky;
    try {
      const rep = await doctor(path, { threads, directions: 3, objective: 'class:3' });
      expect(rep.check!.worstRelError).toBeGreaterThan(1e-3);
    } finally {
      rules['Relu'] = right;
    }
  });

  it('fviz doctor --input X.npy: the check at that input, one verdict line', () => {
    const npy = join(dir, 'x.npy');
    writeNpy(npy, randomInput(new Rng(9), [1, 3, 32, 32]));
    const r = spawnSync('node', [join(import.meta.dirname, '..', 'bin', 'fviz.js'), 'doctor', path, '--input', npy, '--objective', 'class:3', '--directions', '2'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/along 2 random directions, 11264 decisions \(ReLU masks, max-pool windows, \.\.\.\) frozen at the input/);
    expect(r.stdout).toMatch(/decisions of the model flip within it/);
    expect(r.stdout).toMatch(/worst relative error: \S+: passes \(tolerance 1e-3\)/);
  });

  it('takes the input to check at, fixing the batch from it', async () => {
    const x = randomInput(new Rng(8), [2, 3, 32, 32]);
    const rep = await doctor(path, { threads, directions: 2, input: x, objective: 'class:3' });
    expect(rep.check!.worstRelError).toBeLessThan(1e-4);
    expect(rep.check!.frozenDecisions).toBe(2 * (8 * 32 * 32 + 8 * 16 * 16 + 16 * 8 * 8));
    await expect(doctor(path, { threads, input: randomInput(new Rng(8), [1, 3, 16, 16]) })).rejects.toThrow(/needs \[batch_size,3,32,32\]/);
  });
});

