// If and Loop through every pass: subgraphs that read values of the enclosing graph sort, normalize,
// type and fold; an If with a constant condition is inlined, a small constant Loop unrolled, and the
// prepared model computes what onnxruntime computes on the original; dynamic control flow on the
// objective's path is one line naming the node.
import { describe, expect, it } from 'vitest';
import { relMaxError } from './helpers/corpus.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import type { DType, Graph, Model, TensorData } from '../src/onnx/ir.ts';
import { emptyGraph, emptyModel, sizeOf } from '../src/onnx/ir.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { topoSort } from '../src/onnx/topo.ts';
import { normalizeModel } from '../src/onnx/normalize.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { ObjectiveGradient } from '../src/optvis/objectives/gradient.ts';
import { FvizError } from '../src/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { maxAbsDiff, runModel } from './helpers/models.ts';

const rng = new Rng(13);

function randn(dims: number[], dtype: DType = 'float32', scale = 1): TensorData {
  return tensor(dtype, dims, Array.from({ length: sizeOf(dims) }, () => rng.normal() * scale));
}

/** A subgraph (If branch or Loop body) with the given inputs and outputs; nodes added through its builder. */
function body(name: string, inputs: { name: string; dtype: DType; shape: number[] }[], build: (b: GraphBuilder) => string[], dtypes: DType[] = []): Graph {
  const g = emptyGraph(name);
  g.inputs = inputs.map((v) => ({ ...v }));
  const b = new GraphBuilder(g);
  const outs = build(b);
  g.outputs = outs.map((o, k) => ({ name: o, dtype: dtypes[k] ?? 'float32', shape: [] }));
  return g;
}

function model(g: Graph, opset = 13): Model {
  const m = emptyModel(g, opset);
  m.irVersion = 7;
  return m;
}

function ops(m: Model): string[] {
  return m.graph.nodes.map((n) => n.opType);
}

/** `Equal(Gather(Shape(v), axis), size)`: the condition PyTorch writes for `squeeze(axis)` on an unknown dim. */
function dimIs(b: GraphBuilder, v: string, axis: number, size: number, tag = ''): string {
  const shape = b.op('Shape', [v], {}, `${tag}shape`);
  const d = b.op('Gather', [shape, b.constant(tensor('int64', [], [axis]), `${tag}axis`)], { axis: { i: 0 } }, `${tag}gather`);
  return b.op('Equal', [d, b.constant(tensor('int64', [], [size]), `${tag}size`)], {}, `${tag}equal`);
}

/**
 * PyTorch's local_response_norm(size 5) at opset 13: Unsqueeze + Pad + a 3-D AveragePool over channels,
 * then an If whose then-branch squeezes the pool's output, read from the enclosing graph.
 */
function lrnPattern(channels = 6, hw = 5, k = 2): Model {
  const g = emptyGraph('lrn');
  g.inputs = [{ name: 'x', dtype: 'float32', shape: [1, channels, hw, hw] }];
  const b = new GraphBuilder(g);
  const w = b.constant(randn([channels, channels, 1, 1], 'float32', 0.5), 'w');
  const x = b.op('Conv', ['x', w], {}, 'conv');
  const sq = b.op('Mul', [x, x]);
  const u = b.op('Unsqueeze', [sq, b.constant(tensor('int64', [1], [1]))]);
  const padded = b.op('Pad', [u, b.constant(tensor('int64', [10], [0, 0, 2, 0, 0, 0, 0, 2, 0, 0]))]);
  const pool = b.op('AveragePool', [padded], { kernel_shape: { ints: [5, 1, 1] }, strides: { ints: [1, 1, 1] } }, 'pool');
  const cond = dimIs(b, pool, 1, 1);
  const thenG = body('then', [], (s) => [s.op('Squeeze', [pool, s.constant(tensor('int64', [1], [1]), 'axes')], {}, 'squeeze')]);
  const elseG = body('else', [], (s) => [s.op('Identity', [pool], {}, 'same')]);
  const div = b.node('If', [cond], { then_branch: { g: thenG }, else_branch: { g: elseG } }, 1, 'if')[0]!;
  const scaled = b.op('Add', [b.op('Mul', [div, b.constant(tensor('float32', [], [1e-1]))]), b.constant(tensor('float32', [], [k]))]);
  const den = b.op('Pow', [scaled, b.constant(tensor('float32', [], [0.75]))]);
  b.node('Div', [x, den], {}, ['lrn'], 'lrn');
  g.outputs = [{ name: 'lrn', dtype: 'float32', shape: [] }];
  return model(g);
}

/** The same function with ONNX's LRN op: the reference for values and gradients. */
function lrnOp(pattern: Model, k = 2): Model {
  const g = emptyGraph('lrn_ref');
  g.inputs = pattern.graph.inputs.map((v) => ({ ...v, shape: [...v.shape] }));
  const b = new GraphBuilder(g);
  const wName = [...pattern.graph.initializers.keys()].find((n) => n.startsWith('w'))!;
  const w = b.constant(pattern.graph.initializers.get(wName)!, 'w');
  const x = b.op('Conv', ['x', w]);
  b.node('LRN', [x], { size: { i: 5 }, alpha: { f: 1e-1 }, beta: { f: 0.75 }, bias: { f: k } }, ['lrn'], 'lrn');
  g.outputs = [{ name: 'lrn', dtype: 'float32', shape: [] }];
  return model(g, 17);
}

async function gradient(m: Model, x: TensorData, objective: string): Promise<{ value: number; grad: Float32Array }> {
  const prog = await ObjectiveGradient.create(m, { objective, threads: 1 });
  try {
    const r = await prog.run({ x });
    return { value: r.value, grad: r.grads.get('x')!.data as Float32Array };
  } finally {
    await prog.release();
  }
}


describe('subgraphs that read the enclosing graph', () => {
  it('sort with the enclosing names, and fail with one line without them', () => {
    const m = lrnPattern();
    const ifNode = m.graph.nodes.find((n) => n.opType === 'If')!;
    const thenG = ifNode.attrs['then_branch']!.g!;
    expect(() => topoSort(thenG)).toThrow(/reads 'pool_out0', which no node, input or initializer provides/);
    expect(topoSort(thenG, ['pool_out0']).map((n) => n.opType)).toEqual(['Squeeze']);
    // The whole graph sorts: the If waits for the value its branch reads.
    const order = topoSort({ ...m.graph, nodes: [...m.graph.nodes].reverse() }).map((n) => n.opType);
    expect(order.indexOf('If')).toBeGreaterThan(order.indexOf('AveragePool'));
  });

  it('normalize inside branches at old opsets, with outer reads (Squeeze-11 axes attribute)', () => {
    const g = emptyGraph('old');
    g.inputs = [{ name: 'x', dtype: 'float32', shape: [2, 1, 3] }];
    const b = new GraphBuilder(g);
    const cond = dimIs(b, 'x', 1, 1);
    const thenG = emptyGraph('then');
    thenG.nodes = [{ name: 'sq', opType: 'Squeeze', domain: '', inputs: ['x'], outputs: ['y_then'], attrs: { axes: { ints: [1] } } }];
    thenG.outputs = [{ name: 'y_then', dtype: 'float32', shape: [] }];
    const elseG = body('else', [], (s) => [s.op('Identity', ['x'])]);
    b.node('If', [cond], { then_branch: { g: thenG }, else_branch: { g: elseG } }, ['y'], 'if');
    g.outputs = [{ name: 'y', dtype: 'float32', shape: [] }];
    const m = emptyModel(g, 11);
    const n = normalizeModel(m);
    const sq = n.graph.nodes.find((x) => x.opType === 'If')!.attrs['then_branch']!.g!.nodes.find((x) => x.opType === 'Squeeze')!;
    expect(sq.inputs.length).toBe(2);
    expect(sq.attrs['axes']).toBeUndefined();
    const p = prepareModel(m);
    expect(ops(p)).toEqual(['Squeeze']);
    expect(p.graph.outputs[0]!.shape).toEqual([2, 3]);
  });
});

describe('If with a constant condition is inlined', () => {
  it("PyTorch's LRN pattern: loads, static shapes, the value and gradient of ONNX's LRN", async () => {
    const m = lrnPattern();
    const p = prepareModel(m);
    expect(ops(p)).not.toContain('If');
    expect(p.graph.outputs[0]!.shape).toEqual([1, 6, 5, 5]);
    const x = randn([1, 6, 5, 5]);
    // The prepared model computes what onnxruntime computes on the original (with its If).
    const orig = await runModel(m, { x });
    const prep = await runModel(p, { x });
    const y = Object.values(orig)[0]!;
    expect(maxAbsDiff(Object.values(prep)[0]!, y)).toBeLessThan(1e-6);
    // ... and what ONNX's LRN op computes.
    const ref = prepareModel(lrnOp(m));
    expect(maxAbsDiff(Object.values(await runModel(ref, { x }))[0]!, y)).toBeLessThan(1e-5);
    for (const objective of ['lrn:2', 'lrn:4@2,3']) {
      const a = await gradient(p, x, objective);
      const r = await gradient(ref, x, objective);
      expect(Math.abs(a.value - r.value)).toBeLessThan(1e-5 * Math.max(1, Math.abs(r.value)));
      expect(relMaxError(a.grad, r.grad)).toBeLessThan(2e-5);
    }
  });

  it('nested Ifs reading values two scopes up', async () => {
    const g = emptyGraph('nested');
    g.inputs = [{ name: 'x', dtype: 'float32', shape: [1, 4] }];
    const b = new GraphBuilder(g);
    const h = b.op('Tanh', ['x'], {}, 'h');
    const outer = dimIs(b, 'x', 1, 4); // true
    const innerThen = body('inner_then', [], (s) => [s.op('Mul', [h, 'branch_val'], {}, 'deep')]);
    const innerElse = body('inner_else', [], (s) => [s.op('Identity', [h])]);
    const thenG = body('outer_then', [], (s) => {
      s.node('Add', [h, h], {}, ['branch_val'], 'branch');
      const c = dimIs(s, 'x', 0, 1, 'inner_'); // true
      return [s.node('If', [c], { then_branch: { g: innerThen }, else_branch: { g: innerElse } }, 1, 'inner_if')[0]!];
    });
    const elseG = body('outer_else', [], (s) => [s.op('Identity', [h])]);
    const y = b.node('If', [outer], { then_branch: { g: thenG }, else_branch: { g: elseG } }, 1, 'outer_if')[0]!;
    const z = b.node('If', [b.op('Not', [outer])], { then_branch: { g: body('t2', [], (s) => [s.op('Identity', [h])]) }, else_branch: { g: body('e2', [], (s) => [s.op('Identity', [y])]) } }, 1, 'pass_if')[0]!;
    g.outputs = [{ name: z, dtype: 'float32', shape: [] }];
    const m = model(g);
    const p = prepareModel(m);
    expect(ops(p)).not.toContain('If');
    expect(p.graph.outputs[0]!.shape).toEqual([1, 4]);
    const x = randn([1, 4]);
    const want = Object.values(await runModel(m, { x }))[0]!;
    expect(maxAbsDiff(Object.values(await runModel(p, { x }))[0]!, want)).toBe(0);
    // y = tanh(x) * 2 tanh(x): dy/dx = 4 tanh(x) (1 - tanh(x)^2)
    const { grad } = await gradient(p, x, `${z}:1`);
    const v = (x.data as Float32Array)[1]!;
    expect(grad[1]!).toBeCloseTo(4 * Math.tanh(v) * (1 - Math.tanh(v) ** 2), 5);
    for (const i of [0, 2, 3]) expect(Math.abs(grad[i]!)).toBe(0);
  });
});

describe('Loop', () => {
  /** v_{k+1} = tanh(v_k * w + k), trip count 3, with a scan output of each v. */
  function loopModel(trip: number | 'input', cond: 'true' | 'passthrough' | 'computed' = 'passthrough'): Model {
    const g = emptyGraph('loop');
    g.inputs = [{ name: 'x', dtype: 'float32', shape: [1, 3] }];
    if (trip === 'input') g.inputs.push({ name: 'n', dtype: 'int64', shape: [] });
    const b = new GraphBuilder(g);
    const w = b.constant(randn([1, 3]), 'w');
    const bodyG = body('body', [
      { name: 'i', dtype: 'int64', shape: [] },
      { name: 'c_in', dtype: 'bool', shape: [] },
      { name: 'v', dtype: 'float32', shape: [1, 3] },
    ], (s) => {
      const k = s.op('Cast', ['i'], { to: { i: 1 } });
      const next = s.op('Tanh', [s.op('Add', [s.op('Mul', ['v', w]), k])], {}, 'next');
      const keep = cond === 'passthrough' ? s.op('Identity', ['c_in']) : cond === 'true' ? s.constant(tensor('bool', [], [1]), 'yes')
        : s.op('Less', [s.op('ReduceSum', [next], { keepdims: { i: 0 } }), s.constant(tensor('float32', [], [100]))]);
      return [keep, next, s.op('Identity', [next], {}, 'scan')];
    }, ['bool']);
    const n = trip === 'input' ? 'n' : b.constant(tensor('int64', [], [trip]), 'trip');
    const [last, all] = b.node('Loop', [n, '', 'x'], { body: { g: bodyG } }, 2, 'loop') as [string, string];
    b.node('Mul', [last, b.op('ReduceSum', [all, b.constant(tensor('int64', [1], [0]), 'axis0')], { keepdims: { i: 0 } })], {}, ['y'], 'y');
    g.outputs = [{ name: 'y', dtype: 'float32', shape: [] }];
    return model(g);
  }

  it('a constant trip count with a condition that stays true is unrolled, same values as onnxruntime', async () => {
    for (const cond of ['passthrough', 'true'] as const) {
      const m = loopModel(3, cond);
      const p = prepareModel(m);
      expect(ops(p)).not.toContain('Loop');
      expect(p.graph.outputs[0]!.shape).toEqual([1, 3]);
      const x = randn([1, 3]);
      const want = Object.values(await runModel(m, { x }))[0]!;
      expect(maxAbsDiff(Object.values(await runModel(p, { x }))[0]!, want)).toBeLessThan(1e-6);
      // The gradient against central differences of the original model in onnxruntime.
      const { grad } = await gradient(p, x, 'y:1');
      const xs = x.data as Float32Array;
      for (let i = 0; i < 3; i++) {
        const eps = 1e-2;
        const at = async (d: number) => {
          const v = Float32Array.from(xs);
          v[i]! += d;
          return (Object.values(await runModel(m, { x: { ...x, data: v } }))[0]!.data as Float32Array)[1]!;
        };
        expect(grad[i]!).toBeCloseTo(((await at(eps)) - (await at(-eps))) / (2 * eps), 3);
      }
    }
  });

  it('a condition recomputed every iteration cannot be unrolled: one line saying so', async () => {
    const m = loopModel(3, 'computed');
    const p = prepareModel(m);
    expect(ops(p)).toContain('Loop');
    const x = randn([1, 3]);
    // It still runs as onnxruntime runs it.
    expect(maxAbsDiff(Object.values(await runModel(p, { x }))[0]!, Object.values(await runModel(m, { x }))[0]!)).toBeLessThan(1e-6);
    const err = await ObjectiveGradient.create(p, { objective: 'y:0' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FvizError);
    expect((err as Error).message).toMatch(/^node 'loop_node' \(Loop, opset 13\): fviz cannot unroll it: its condition is recomputed on every iteration; export the model with the loop unrolled/);
  });

  it('a trip count from the input stays (off the path), and names the node on the path', async () => {
    const m = loopModel('input');
    const p = prepareModel(m);
    expect(ops(p)).toContain('Loop');
    const err = await ObjectiveGradient.create(p, { objective: 'y:0', wrt: ['x'] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FvizError);
    expect(String((err as Error).message)).toMatch(/^node 'loop_node' \(Loop, opset 13\): its trip count or condition depends on the values of input 'n'/);
    expect((err as Error).message).not.toContain('\n');
  });
});

describe('an If that stays dynamic', () => {
  function dynamicIf(onPath: boolean): Model {
    const g = emptyGraph('dyn');
    g.inputs = [{ name: 'x', dtype: 'float32', shape: [1, 4] }];
    const b = new GraphBuilder(g);
    const h = b.op('Relu', ['x'], {}, 'h');
    const cond = b.op('Greater', [b.op('ReduceSum', ['x'], { keepdims: { i: 0 } }), b.constant(tensor('float32', [], [0]))], {}, 'positive');
    const thenG = body('then', [], (s) => [s.op('Mul', [h, h])]);
    const elseG = body('else', [], (s) => [s.op('Neg', [h])]);
    const y = b.node('If', [cond], { then_branch: { g: thenG }, else_branch: { g: elseG } }, 1, 'branch')[0]!;
    const z = b.node('Sigmoid', ['x'], {}, ['z'], 'z')[0]!;
    g.outputs = [
      { name: onPath ? y : z, dtype: 'float32', shape: [] },
      { name: onPath ? z : y, dtype: 'float32', shape: [] },
    ];
    return model(g);
  }

  it('types its outputs from both branches and stays off the objective path', async () => {
    const p = prepareModel(dynamicIf(false));
    expect(ops(p)).toContain('If');
    expect(p.graph.valueTypes.get(p.graph.outputs[1]!.name)!.shape).toEqual([1, 4]);
    const x = randn([1, 4]);
    const { grad } = await gradient(p, x, 'z:2');
    const s = 1 / (1 + Math.exp(-(x.data as Float32Array)[2]!));
    expect(grad[2]).toBeCloseTo(s * (1 - s), 6);
    expect(grad[0]).toBe(0);
  });

  it('a data-dependent If that selects constants is compiled with the values its branches read', async () => {
    const g = emptyGraph('select');
    g.inputs = [{ name: 'x', dtype: 'float32', shape: [1, 4] }];
    const b = new GraphBuilder(g);
    const two = b.constant(tensor('float32', [], [2]), 'two');
    const minus = b.constant(tensor('float32', [], [-1]), 'minus');
    const cond = b.op('Greater', [b.op('ReduceSum', ['x'], { keepdims: { i: 0 } }), b.constant(tensor('float32', [], [0]))], {}, 'positive');
    const s = b.node('If', [cond], { then_branch: { g: body('then', [], (t) => [t.op('Identity', [two])]) }, else_branch: { g: body('else', [], (e) => [e.op('Identity', [minus])]) } }, 1, 'sign')[0]!;
    b.node('Mul', ['x', s], {}, ['y'], 'y');
    g.outputs = [{ name: 'y', dtype: 'float32', shape: [] }];
    const p = prepareModel(model(g));
    expect(ops(p)).toContain('If');
    for (const v of [1, -1]) {
      const x = tensor('float32', [1, 4], [v, 0.5 * v, 0.25, 0]);
      const { value, grad } = await gradient(p, x, 'y:1');
      const sel = v > 0 ? 2 : -1;
      expect(value).toBeCloseTo(sel * 0.5 * v, 6);
      expect(grad[1]).toBe(sel);
    }
  });

  it('on the objective path: one line naming the node, its opset, the input and the fix', async () => {
    const p = prepareModel(dynamicIf(true));
    const err = await ObjectiveGradient.create(p, { objective: `${p.graph.outputs[0]!.name}:1` }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FvizError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^node 'branch_node' \(If, opset 13\): its condition depends on the values of input 'x'/);
    expect(msg).toMatch(/export the model with that decision fixed/);
    expect(msg).not.toContain('\n');
  });
});
