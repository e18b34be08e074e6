// The objective grammar (parse.ts) and its resolution and graph (build.ts): the values the appended nodes
// compute are checked against the same quantities computed here from the model's own tensors.
import { describe, expect, it } from 'vitest';
import { FvizError } from '../src/errors.ts';
import { appendObjective, OBJECTIVE, OBJECTIVE_PER_ITEM, resolveTerms } from '../src/optvis/objectives/build.ts';
import { parseObjective } from '../src/optvis/objectives/parse.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { cloneModel } from '../src/onnx/ir.ts';
import { toFloat64 } from '../src/onnx/tensor.ts';
import { Session } from '../src/runtime/session.ts';
import { Rng } from '../src/util/rng.ts';
import { randomInput } from './helpers/models.ts';
import { TINY_LABELS, tinyCnn } from './helpers/tiny-cnn.ts';

function fvizMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FvizError);
    return (e as Error).message;
  }
  throw new Error('expected an FvizError');
}

describe('parseObjective', () => {
  it('channel', () => {
    expect(parseObjective('conv2:5').terms).toEqual([{ weight: 1, target: { kind: 'channel', tensor: 'conv2', channel: 5 } }]);
  });
  it('neuron', () => {
    expect(parseObjective('a:1@2,3').terms).toEqual([{ weight: 1, target: { kind: 'neuron', tensor: 'a', channel: 1, y: 2, x: 3 } }]);
  });
  it('class by index and by name', () => {
    expect(parseObjective('class:3').terms[0]!.target).toEqual({ kind: 'class', cls: 3 });
    expect(parseObjective('class:bell_pepper').terms[0]!.target).toEqual({ kind: 'class', cls: 'bell_pepper' });
  });
  it('a layer alone', () => {
    expect(parseObjective('mixed4a').terms).toEqual([{ weight: 1, target: { kind: 'layer', tensor: 'mixed4a' } }]);
  });
  it('weighted sums and differences', () => {
    const t = parseObjective('0.5*a:1 + b:2 - c').terms;
    expect(t.map((x) => x.weight)).toEqual([0.5, 1, -1]);
    expect(t.map((x) => x.target.kind)).toEqual(['channel', 'channel', 'layer']);
  });
  it('a leading minus, exponent weights, and names with hyphens and slashes', () => {
    const t = parseObjective('-2e-1*inception_4a/3x3-reduce:7 - 3*class:1').terms;
    expect(t).toEqual([
      { weight: -0.2, target: { kind: 'channel', tensor: 'inception_4a/3x3-reduce', channel: 7 } },
      { weight: -3, target: { kind: 'class', cls: 1 } },
    ]);
  });
  it('names containing colons keep all but the last :C', () => {
    expect(parseObjective('onnx::Conv_12:4').terms[0]!.target).toEqual({ kind: 'channel', tensor: 'onnx::Conv_12', channel: 4 });
  });
  it('errors are one line and say what to write', () => {
    expect(fvizMessage(() => parseObjective('  '))).toMatch(/empty/);
    expect(fvizMessage(() => parseObjective('x*a:1'))).toMatch(/weight 'x' is not a number/);
    expect(fvizMessage(() => parseObjective('a:1@2'))).toMatch(/not TENSOR:C@Y,X/);
    expect(fvizMessage(() => parseObjective('class:'))).toMatch(/class needs an index or a name/);
    expect(fvizMessage(() => parseObjective('a:1 b:2'))).toMatch(/separate terms/);
  });
});

describe('resolveTerms', () => {
  const model = tinyCnn();
  const resolve = (text: string, labels?: string[]) => resolveTerms(model, parseObjective(text), { labels });

  it('class:K reads the tensor feeding the last Softmax', () => {
    const [t] = resolve('class:2');
    expect(t!.tensor).toBe('logits');
    expect(t!.target).toEqual({ kind: 'class', cls: 2 });
  });
  it('class:NAME matches labels (underscores for spaces, synonyms, WordNet ids ignored)', () => {
    expect(resolve('class:bell_pepper', TINY_LABELS)[0]!.target).toEqual({ kind: 'class', cls: 0 });
    expect(resolve('class:tabby_cat', TINY_LABELS)[0]!.target).toEqual({ kind: 'class', cls: 1 });
    expect(resolve('class:Carassius_auratus', TINY_LABELS)[0]!.label).toBe('class:2 (goldfish)');
    expect(fvizMessage(() => resolve('class:goldfsh', TINY_LABELS))).toMatch(/unknown class 'goldfsh'; nearest labels: goldfish/);
    expect(fvizMessage(() => resolve('class:cat'))).toMatch(/no labels/);
  });
  it('class index out of range gives the range', () => {
    expect(fvizMessage(() => resolve('class:3'))).toMatch(/class 3 is out of range: the model has classes 0\.\.2/);
  });
  it('an unknown tensor lists the five nearest names', () => {
    const msg = fvizMessage(() => resolve('conv3:1'));
    expect(msg).toMatch(/^unknown tensor 'conv3'; nearest names: /);
    const names = /nearest names: (.*?) \(/.exec(msg)![1]!.split(', ');
    expect(names).toHaveLength(5);
    expect(names.slice(0, 2).sort()).toEqual(['conv1', 'conv2']);
  });
  it('a channel out of range gives the range', () => {
    expect(fvizMessage(() => resolve('conv2:5'))).toMatch(/channel 5 of 'conv2' is out of range: it has channels 0\.\.4/);
  });
  it('a position out of range gives the rows and columns', () => {
    expect(fvizMessage(() => resolve('conv2:1@3,0'))).toMatch(/position @3,0 is outside 'conv2': rows 0\.\.2, columns 0\.\.2/);
    expect(fvizMessage(() => resolve('flat:1@0,0'))).toMatch(/needs an N x C x H x W tensor/);
  });
  it("'name:0' is the whole tensor when only 'name:0' exists (tf2onnx names)", () => {
    expect(resolve('act2:0')[0]!.target).toEqual({ kind: 'layer', tensor: 'act2:0' });
    expect(resolve('act2:0:4')[0]!.target).toEqual({ kind: 'channel', tensor: 'act2:0', channel: 4 });
  });
  it('aliases map friendly names to tensors', () => {
    const t = resolveTerms(model, parseObjective('fc8:1'), { aliases: { fc8: 'logits' } });
    expect(t[0]!.tensor).toBe('logits');
  });
  it('a model without Softmax whose only output is N x K: class:K reads that output', () => {
    const m = cloneModel(model);
    m.graph.nodes = m.graph.nodes.filter((n) => n.opType !== 'Softmax');
    m.graph.outputs = [{ name: 'logits', dtype: 'float32', shape: [2, 3] }];
    expect(resolveTerms(m, parseObjective('class:1'))[0]!.tensor).toBe('logits');
  });
});

/** Runs the model with the objective appended; returns the objective outputs and the named tensors. */
async function evaluate(model: Model, text: string, tensors: string[], feeds: Record<string, TensorData>, labels?: string[]) {
  const obj = appendObjective(model, text, { labels });
  const m = cloneModel(obj.model);
  m.graph.outputs = [OBJECTIVE, OBJECTIVE_PER_ITEM, ...tensors].map((name) => {
    const t = m.graph.valueTypes.get(name)!;
    return { name, dtype: t.dtype, shape: [...t.shape] };
  });
  const s = await Session.create(m, { threads: 1 });
  const out = await s.run(feeds);
  await s.release();
  const values = Object.fromEntries(tensors.map((t) => [t, toFloat64(out[t]!)]));
  return { total: toFloat64(out[OBJECTIVE]!)[0]!, perItem: [...toFloat64(out[OBJECTIVE_PER_ITEM]!)], values, terms: obj.terms };
}

describe('appendObjective computes what the grammar says', () => {
  const N = 2;
  const model = tinyCnn(N);
  const feeds = { image: randomInput(new Rng(9), [N, 3, 6, 6]) };
  const per = (v: Float64Array, n: number) => Array.from({ length: N }, (_, k) => v.subarray(k * n, (k + 1) * n));

  it('TENSOR:C is the mean of channel C over positions', async () => {
    const r = await evaluate(model, 'conv2:3', ['conv2'], feeds);
    const want = per(r.values['conv2']!, 45).map((item) => item.subarray(27, 36).reduce((a, b) => a + b, 0) / 9);
    r.perItem.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
    expect(r.total).toBeCloseTo(want[0]! + want[1]!, 5);
  });

  it('TENSOR:C@Y,X is one neuron', async () => {
    const r = await evaluate(model, 'conv2:1@2,0', ['conv2'], feeds);
    const want = per(r.values['conv2']!, 45).map((item) => item[9 + 2 * 3 + 0]!);
    r.perItem.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
  });

  it('TENSOR alone is the mean of squares (DeepDream)', async () => {
    const r = await evaluate(model, 'block1/3x3-reduce', ['block1/3x3-reduce'], feeds);
    const want = per(r.values['block1/3x3-reduce']!, 144).map((item) => item.reduce((a, b) => a + b * b, 0) / 144);
    r.perItem.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
  });

  it('class:NAME is the pre-softmax logit; weighted terms add up', async () => {
    const r = await evaluate(model, '0.5*class:tabby + conv2:0 - 2*act2:0 - flat:4', ['logits', 'conv2', 'act2:0', 'flat'], feeds, TINY_LABELS);
    const logits = per(r.values['logits']!, 3);
    const conv2 = per(r.values['conv2']!, 45);
    const act2 = per(r.values['act2:0']!, 45);
    const flat = per(r.values['flat']!, 5);
    const want = Array.from({ length: N }, (_, k) => {
      const ch0 = conv2[k]!.subarray(0, 9).reduce((a, b) => a + b, 0) / 9;
      const sq = act2[k]!.reduce((a, b) => a + b * b, 0) / 45;
      return 0.5 * logits[k]![1]! + ch0 - 2 * sq - flat[k]![4]!;
    });
    r.perItem.forEach((v, k) => expect(v).toBeCloseTo(want[k]!, 5));
    expect(r.terms.map((t) => t.label)).toEqual(['class:1 (tabby)', 'conv2:0', 'act2:0', 'flat:4']);
  });
});
