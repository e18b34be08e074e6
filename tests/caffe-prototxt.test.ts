import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePrototxt, TextReader, type TextMessage } from '../src/caffe/prototxt.ts';
import { parseNet } from '../src/caffe/net.ts';
import { sharedDir } from '../src/shared-path.ts';

const read = (f: string) => readFileSync(join(sharedDir(), 'reference', f), 'utf8');

/** What `grep -c '^layer {'` counts, and the line of each `name:` right after it. */
function grepLayers(text: string): { count: number; types: Map<string, number> } {
  const lines = text.split('\n');
  const types = new Map<string, number>();
  let count = 0;
  lines.forEach((l, i) => {
    if (/^layers? \{/.test(l)) count++;
    const t = /^ {2}type: "(\w+)"/.exec(l);
    if (t && /^ {2}name:/.test(lines[i - 1] ?? '')) types.set(t[1]!, (types.get(t[1]!) ?? 0) + 1);
  });
  return { count, types };
}

function scalar(m: TextMessage, name: string): unknown {
  const f = m.fields.find((x) => x.name === name);
  return f && f.value.kind !== 'message' ? f.value.value : undefined;
}

describe('prototxt parser on the shared reference nets', () => {
  for (const [file, expected] of [
    ['bvlc_googlenet.prototxt', 142],
    ['caffenet.prototxt', 21],
    ['dgn-fc6-generator.prototxt', 24],
  ] as const) {
    it(`${file}: every layer, type and line`, () => {
      const text = read(file);
      const grep = grepLayers(text);
      expect(grep.count).toBe(expected);
      const tree = parsePrototxt(text, file);
      const layers = tree.fields.filter((f) => f.name === 'layer');
      expect(layers.length).toBe(grep.count);
      // Line numbers point at the `layer {` lines.
      const lines = text.split('\n');
      for (const l of layers) expect(lines[l.line - 1]).toMatch(/^layer \{/);
      const net = parseNet(text, file);
      const types = new Map<string, number>();
      for (const l of net.layers) types.set(l.type, (types.get(l.type) ?? 0) + 1);
      expect(types).toEqual(grep.types);
    });
  }

  it('reads nested values of GoogLeNet as written', () => {
    const text = read('bvlc_googlenet.prototxt');
    const net = parseNet(text, 'g');
    expect(net.name).toBe('GoogleNet');
    expect(net.inputs).toEqual([{ name: 'data', shape: [1, 3, 224, 224], line: 2 }]);
    const conv1 = net.layers[0]!;
    expect(conv1.name).toBe('conv1/7x7_s2');
    const p = conv1.params.message('convolution_param')!;
    expect([p.uint('num_output'), p.ints('pad'), p.ints('kernel_size'), p.ints('stride')]).toEqual([64, [3], [7], [2]]);
    expect(p.message('weight_filler')!.string('type')).toBe('xavier');
    expect(conv1.params.messages('param').map((q) => q.number('lr_mult'))).toEqual([1, 2]);
    const pool5 = net.layers.find((l) => l.name === 'pool5/7x7_s1')!;
    expect(pool5.params.message('pooling_param')!.enumValue('pool', 'MAX')).toBe('AVE');
    const concat = net.layers.find((l) => l.name === 'inception_4c/output')!;
    expect(concat.bottom).toEqual(['inception_4c/1x1', 'inception_4c/3x3', 'inception_4c/5x5', 'inception_4c/pool_proj']);
    const gen = parseNet(read('dgn-fc6-generator.prototxt'), 'gen');
    const relu = gen.layers.find((l) => l.name === 'relu_defc7')!;
    expect(relu.params.message('relu_param')!.number('negative_slope')).toBeCloseTo(0.3, 7);
    expect(gen.layers.find((l) => l.name === 'deconv5')!.params.message('convolution_param')!.enumValue('engine', 'DEFAULT')).toBe('CUDNN');
  });
});

describe('prototxt syntax', () => {
  it('handles comments, escapes, adjacent strings, lists, angle brackets, separators and special numbers', () => {
    const text = [
      '# leading comment',
      'name: "a\\"b\\n" \'c\' # trailing comment',
      'num: -1.5e-3 hex: 0x1F big: 1e30 neg_inf: -inf pos: inf, f: 2.5f;',
      'flag: true',
      'mode: CUDNN',
      'list: [1, 2, 3]',
      'msgs: [{ x: 1 }, { x: 2 }]',
      'empty: []',
      'angle < y: "z" >',
      'colon_msg: { k: 7 }',
      'octal: "\\101\\x42"',
    ].join('\n');
    const m = parsePrototxt(text, 't');
    expect(scalar(m, 'name')).toBe('a"b\nc');
    expect(scalar(m, 'num')).toBeCloseTo(-1.5e-3, 12);
    expect(scalar(m, 'hex')).toBe(31);
    expect(scalar(m, 'big')).toBe(1e30);
    expect(scalar(m, 'neg_inf')).toBe(-Infinity);
    expect(scalar(m, 'pos')).toBe(Infinity);
    expect(scalar(m, 'f')).toBe(2.5);
    const r = new TextReader(m, 't', 'test');
    expect(r.bool('flag', false)).toBe(true);
    expect(r.enumValue('mode', 'DEFAULT')).toBe('CUDNN');
    expect(r.ints('list')).toEqual([1, 2, 3]);
    expect(r.messages('msgs').map((q) => q.int('x'))).toEqual([1, 2]);
    expect(r.has('empty')).toBe(false);
    expect(r.message('angle')!.string('y')).toBe('z');
    expect(r.message('colon_msg')!.int('k')).toBe(7);
    expect(r.string('octal')).toBe('AB');
    expect(m.fields.find((f) => f.name === 'flag')!.line).toBe(4);
  });

  it('a repeated singular field: the last value wins', () => {
    const r = new TextReader(parsePrototxt('a: 1\na: 2'), 't', 'test');
    expect(r.int('a')).toBe(2);
    expect(r.ints('a')).toEqual([1, 2]);
  });

  it.each([
    ['layer {\n  name: "x"\n', /t:1: message opened here is not closed/],
    ['a: 1\nb: }\n', /t:2: expected a value, found '}'/],
    ['a: 1\n\nb 3', /t:3: expected ':' or '\{' after field 'b', found number 3/],
    ['a: "unterminated\n', /t:1: string is not closed/],
    ['a: 1\n@', /t:2: unexpected character '@'/],
    ['x { y: 1 } }', /t:1: expected a field name, found '}'/],
  ])('reports the line of a syntax error: %j', (text, re) => {
    expect(() => parsePrototxt(text, 't')).toThrow(re);
  });

  it('typed reads name the field and its line', () => {
    const r = new TextReader(parsePrototxt('a: "s"\nb: 1.5\nc { }'), 'f.prototxt', "layer 'x'");
    expect(() => r.int('a')).toThrow(/f\.prototxt:1: layer 'x': field 'a' must be a number/);
    expect(() => r.uint('b')).toThrow(/f\.prototxt:2: layer 'x': field 'b' must be a non-negative integer/);
    expect(() => r.string('c')).toThrow(/f\.prototxt:3: .*field 'c' must be a value, not a message/);
  });

  it('legacy V1 layers blocks get V2 type names; TRAIN-only layers are dropped', () => {
    const net = parseNet(
      [
        'input: "data"',
        'input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8',
        'layers { name: "c" type: CONVOLUTION bottom: "data" top: "c" }',
        'layers { name: "r" type: RELU bottom: "c" top: "c" }',
        'layers { name: "d" type: DATA top: "data" include { phase: TRAIN } }',
        'layers { name: "p" type: POOLING bottom: "c" top: "p" exclude { phase: TRAIN } }',
      ].join('\n'),
      'v1',
    );
    expect(net.inputs).toEqual([{ name: 'data', shape: [1, 3, 8, 8], line: 1 }]);
    expect(net.layers.map((l) => [l.name, l.type, l.line])).toEqual([
      ['c', 'Convolution', 3],
      ['r', 'ReLU', 4],
      ['p', 'Pooling', 6],
    ]);
  });
});
