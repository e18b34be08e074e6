// compileSplit against compileFused and against finite differences: the forward/backward pair is a
// vector-Jacobian product, and a batch's items do not mix.
import { describe, expect, it } from 'vitest';
import { compileFused, compileSplit, GRAD_PREFIX } from '../src/autodiff/compile.ts';
import { Vjp } from '../src/optvis/objectives/gradient.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { emptyGraph, emptyModel, sizeOf } from '../src/onnx/ir.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { tensor, toFloat64 } from '../src/onnx/tensor.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';

const C = 2;
const K = 3;

/**
 * x [N, 2, 3] and weight w [3] (an initializer) -> two outputs:
 *   z = Softmax(Concat(Tanh(x w), Exp(x)), axis -1)   [N, 2, 6]
 *   s = ReduceSum(Tanh(x w)^2, axis 2)                 [N, 2]
 * Tanh(x w) has two consumers, so its gradient accumulates.
 */
function testModel(batch: number): Model {
  const g = emptyGraph('vjp');
  g.inputs.push({ name: 'x', dtype: 'float64', shape: [batch, C, K] });
  const b = new GraphBuilder(g);
  g.initializers.set('w', tensor('float64', [K], [0.7, -1.2, 0.4]));
  const t = b.op('Tanh', [b.op('Mul', ['x', 'w'])]);
  const cat = b.op('Concat', [t, b.op('Exp', ['x'])], { axis: { i: -1 } });
  b.node('Softmax', [cat], { axis: { i: -1 } }, ['z']);
  b.node('ReduceSum', [b.op('Mul', [t, t]), b.constant(tensor('int64', [1], [2]))], { keepdims: { i: 0 } }, ['s']);
  g.outputs = [
    { name: 'z', dtype: 'float64', shape: [] },
    { name: 's', dtype: 'float64', shape: [] },
  ];
  return prepareModel(emptyModel(g));
}

function normal(rng: Rng, dims: number[]): TensorData {
  return { dtype: 'float64', dims, data: rng.fillNormal(new Float64Array(sizeOf(dims))) };
}

function shapeOf(m: Model, name: string): number[] {
  return m.graph.valueTypes.get(name)!.shape as number[];
}

function dot(a: TensorData, b: TensorData): number {
  const x = toFloat64(a);
  const y = toFloat64(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

function maxAbsDiff(a: TensorData, b: TensorData): number {
  const x = toFloat64(a);
  const y = toFloat64(b);
  expect(x.length).toBe(y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}

describe('compileSplit', () => {
  it('splits into a forward that saves tensors and a backward that reads only those and the upstream gradients', () => {
    const model = testModel(2);
    const split = compileSplit(model, { outputs: ['z', 's'], wrt: ['x', 'w'] });
    const fwdOut = new Set(split.forward.graph.outputs.map((o) => o.name));
    expect(fwdOut.has('z') && fwdOut.has('s')).toBe(true);
    const bwdIn = split.backward.graph.inputs.map((i) => i.name);
    expect(bwdIn).toEqual(expect.arrayContaining([`${GRAD_PREFIX}z`, `${GRAD_PREFIX}s`]));
    expect(split.saved.length).toBeGreaterThan(0);
    for (const s of split.saved) {
      expect(bwdIn).toContain(s);
      // every saved value comes from the forward (an output of it, or one of its inputs)
      const fromForward = fwdOut.has(s) || split.forward.graph.inputs.some((i) => i.name === s);
      expect(fromForward).toBe(true);
    }
    // the backward recomputes nothing of the forward
    const forwardNodes = new Set(model.graph.nodes.map((n) => n.name));
    expect(split.backward.graph.nodes.some((n) => forwardNodes.has(n.name))).toBe(false);
    expect(split.backward.graph.outputs.map((o) => o.name).sort()).toEqual([`${GRAD_PREFIX}w`, `${GRAD_PREFIX}x`]);
  });

  it('forward + backward gives the fused program gradient for the same upstream gradients', async () => {
    const model = testModel(2);
    const rng = new Rng(11);
    const x = normal(rng, [2, C, K]);
    const upstream = { z: normal(rng, shapeOf(model, 'z')), s: normal(rng, shapeOf(model, 's')) };

    const fused = compileFused(model, { outputs: ['z', 's'], wrt: ['x', 'w'] });
    const fusedSession = await Session.create(fused.model, { threads: 1 });
    const fusedOut = await fusedSession.run({
      x,
      w: fused.weights.get('w')!,
      [`${GRAD_PREFIX}z`]: upstream.z,
      [`${GRAD_PREFIX}s`]: upstream.s,
    });
    await fusedSession.release();

    const vjp = await Vjp.create(model, ['z', 's'], ['x', 'w'], { threads: 1 });
    const { outputs, state } = await vjp.forward({ x, w: vjp.split.weights.get('w')! });
    const grads = await vjp.backward(state, upstream);
    await vjp.release();

    expect(maxAbsDiff(outputs['z']!, fusedOut['z']!)).toBe(0);
    for (const w of ['x', 'w']) {
      const d = maxAbsDiff(grads.get(w)!, fusedOut[fused.gradNames.get(w)!]!);
      expect(d).toBeLessThan(1e-12);
    }
    // and the gradient is not trivially zero
    expect(Math.max(...toFloat64(grads.get('x')!).map(Math.abs))).toBeGreaterThan(1e-3);
  });

  it('the backward is the vector-Jacobian product: <u, f(x)> by central differences', async () => {
    const model = testModel(2);
    const rng = new Rng(12);
    const x = normal(rng, [2, C, K]);
    const u = { z: normal(rng, shapeOf(model, 'z')), s: normal(rng, shapeOf(model, 's')) };
    const vjp = await Vjp.create(model, ['z', 's'], ['x', 'w'], { threads: 1 });
    const w = vjp.split.weights.get('w')!;
    const { state } = await vjp.forward({ x, w });
    const grads = await vjp.backward(state, u);
    const J = async (feeds: Record<string, TensorData>) => {
      const { outputs } = await vjp.forward(feeds);
      return dot(u.z, outputs['z']!) + dot(u.s, outputs['s']!);
    };
    const eps = 1e-6;
    let num2 = 0;
    let diff2 = 0;
    for (const [name, base] of [['x', x], ['w', w]] as const) {
      const analytic = toFloat64(grads.get(name)!);
      for (let k = 0; k < base.data.length; k++) {
        const bump = (d: number) => {
          const data = (base.data as Float64Array).slice();
          data[k]! += d;
          return { ...base, data };
        };
        const numeric = ((await J({ x, w, [name]: bump(eps) })) - (await J({ x, w, [name]: bump(-eps) }))) / (2 * eps);
        num2 += numeric ** 2;
        diff2 += (numeric - analytic[k]!) ** 2;
      }
    }
    await vjp.release();
    expect(Math.sqrt(diff2 / num2)).toBeLessThan(1e-6);
  });

  it('batch > 1: the gradient of item k depends only on item k', async () => {
    const N = 3;
    const model = testModel(N);
    const single = testModel(1);
    const rng = new Rng(13);
    const x = normal(rng, [N, C, K]);
    const u = { z: normal(rng, shapeOf(model, 'z')), s: normal(rng, shapeOf(model, 's')) };
    const vjp = await Vjp.create(model, ['z', 's'], ['x'], { threads: 1 });
    const one = await Vjp.create(single, ['z', 's'], ['x'], { threads: 1 });
    const { state } = await vjp.forward({ x }); // w stays a constant: not differentiated
    const batchGrad = toFloat64((await vjp.backward(state, u)).get('x')!);

    const per = C * K;
    const zPer = sizeOf(shapeOf(model, 'z').slice(1));
    const sPer = sizeOf(shapeOf(model, 's').slice(1));
    const item = (t: TensorData, k: number, n: number): TensorData => ({
      dtype: 'float64',
      dims: [1, ...t.dims.slice(1)],
      data: (t.data as Float64Array).slice(k * n, (k + 1) * n),
    });
    for (let k = 0; k < N; k++) {
      const { state: s1 } = await one.forward({ x: item(x, k, per) });
      const g1 = toFloat64((await one.backward(s1, { z: item(u.z, k, zPer), s: item(u.s, k, sPer) })).get('x')!);
      for (let i = 0; i < per; i++) expect(batchGrad[k * per + i]).toBeCloseTo(g1[i]!, 12);
    }

    // Upstream gradient only on item 1: items 0 and 2 get exactly zero.
    const only1 = {
      z: { ...u.z, data: (u.z.data as Float64Array).map((v, i) => (Math.floor(i / zPer) === 1 ? v : 0)) },
      s: { ...u.s, data: (u.s.data as Float64Array).map((v, i) => (Math.floor(i / sPer) === 1 ? v : 0)) },
    };
    const g = toFloat64((await vjp.backward(state, only1)).get('x')!);
    for (let i = 0; i < N * per; i++) {
      if (Math.floor(i / per) === 1) continue;
      expect(g[i]).toBe(0);
    }
    expect(g.slice(per, 2 * per).some((v) => v !== 0)).toBe(true);
    await vjp.release();
    await one.release();
  });

  it('an op without a rule fails at compile time with the op, the node, the opset and the supported ops', () => {
    const g = emptyGraph('norule');
    g.inputs.push({ name: 'x', dtype: 'float64', shape: [3] });
    const b = new GraphBuilder(g);
    b.node('Atanh', [b.op('Tanh', ['x'])], {}, ['y'], 'my_atanh');
    g.outputs = [{ name: 'y', dtype: 'float64', shape: [] }];
    const model = prepareModel(emptyModel(g));
    expect(() => compileSplit(model, { outputs: ['y'], wrt: ['x'] })).toThrow(
      /no gradient rule for op Atanh \(node 'my_atanh_node', opset 17\); supported ops: .*Tanh/,
    );
  });

  it('a wrt value the outputs do not depend on gets a zero gradient', async () => {
    const g = emptyGraph('unused');
    g.inputs.push({ name: 'x', dtype: 'float64', shape: [2] }, { name: 'unused', dtype: 'float64', shape: [3] });
    const b = new GraphBuilder(g);
    b.node('Exp', ['x'], {}, ['y']);
    g.outputs = [{ name: 'y', dtype: 'float64', shape: [] }];
    const vjp = await Vjp.create(prepareModel(emptyModel(g)), ['y'], ['x', 'unused'], { threads: 1 });
    const x = tensor('float64', [2], [0, 1]);
    const { state } = await vjp.forward({ x, unused: tensor('float64', [3], [1, 2, 3]) });
    const grads = await vjp.backward(state, { y: tensor('float64', [2], [1, 1]) });
    const gx = toFloat64(grads.get('x')!);
    expect(gx[0]).toBeCloseTo(1, 12);
    expect(gx[1]).toBeCloseTo(Math.E, 12);
    expect([...toFloat64(grads.get('unused')!)]).toEqual([0, 0, 0]);
    await vjp.release();
  });
});
