// Model-local functions (as torch.onnx.dynamo_export writes modules): inlined when the file is read, with
// attributes taken from the caller, nested calls and two calls of one function; the result computes what
// onnxruntime computes on the file with its functions, and differentiates.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { decodeModel, encodeModel } from '../src/onnx/proto.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { Session } from '../src/runtime/session.ts';
import { doctor } from '../src/optvis/objectives/doctor.ts';
import { Rng } from '../src/util/rng.ts';
import { maxAbsDiff, randomInput, runModel } from './helpers/models.ts';

const onnx = onnxProto.onnx;
const T = onnx.AttributeProto.AttributeType;
const DOMAIN = 'pkg.test';

/** y = Block(Block(x, W1, alpha=0.2), W2) where Block(x, W) = Scale(LeakyRelu(Conv(x, W), alpha)), Scale(t) = t * t_sigmoid. */
function modelWithFunctions(): Uint8Array {
  const g = emptyGraph('main');
  g.inputs.push({ name: 'x', dtype: 'float32', shape: [1, 3, 6, 6] });
  const rng = new Rng(3);
  const w = (n: number) => tensor('float32', [3, 3, 3, 3], Array.from({ length: n }, () => 0.3 * rng.normal()));
  g.initializers.set('W1', w(81));
  g.initializers.set('W2', w(81));
  g.nodes.push(
    { name: 'block1', opType: 'Block', domain: DOMAIN, inputs: ['x', 'W1'], outputs: ['h'], attrs: { alpha: { f: 0.2 } } },
    { name: 'block2', opType: 'Block', domain: DOMAIN, inputs: ['h', 'W2'], outputs: ['y'], attrs: {} },
  );
  g.outputs = [{ name: 'y', dtype: 'float32', shape: [1, 3, 6, 6] }];
  const m = emptyModel(g, 18);
  m.opsets.push({ domain: DOMAIN, version: 1 });
  const proto = onnx.ModelProto.decode(encodeModel(m));
  const node = (opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = [], domain = '') =>
    ({ opType, input, output, attribute, domain, name: `${opType.toLowerCase()}` });
  proto.functions = [
    onnx.FunctionProto.create({
      name: 'Block',
      domain: DOMAIN,
      input: ['X', 'W'],
      output: ['Y'],
      attribute: ['alpha'],
      opsetImport: [{ domain: '', version: 18 }, { domain: DOMAIN, version: 1 }],
      node: [
        node('Conv', ['X', 'W'], ['c'], [{ name: 'pads', type: T.INTS, ints: [1, 1, 1, 1] }]),
        node('LeakyRelu', ['c'], ['r'], [{ name: 'alpha', type: T.FLOAT, refAttrName: 'alpha' }]),
        node('Scale', ['r'], ['Y'], [], DOMAIN),
      ],
    }),
    onnx.FunctionProto.create({
      name: 'Scale',
      domain: DOMAIN,
      input: ['t'],
      output: ['u'],
      opsetImport: [{ domain: '', version: 18 }],
      node: [node('Sigmoid', ['t'], ['s']), node('Mul', ['t', 's'], ['u'])],
    }),
  ];
  return onnx.ModelProto.encode(proto).finish();
}

describe('model-local functions', () => {
  it('are inlined on reading: plain ops, unique names, the caller attribute or the op default', () => {
    const m = decodeModel(modelWithFunctions(), { source: 'fn.onnx' });
    expect(m.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'LeakyRelu', 'Sigmoid', 'Mul', 'Conv', 'LeakyRelu', 'Sigmoid', 'Mul']);
    expect(new Set(m.graph.nodes.flatMap((n) => n.outputs)).size).toBe(8);
    const leaky = m.graph.nodes.filter((n) => n.opType === 'LeakyRelu');
    expect(leaky.map((n) => n.attrs['alpha'])).toEqual([{ f: expect.closeTo(0.2, 6) }, undefined]);
    expect(m.graph.nodes[3]!.outputs).toEqual(['h']);
    expect(m.opsets).toEqual([{ domain: '', version: 18 }]);
  });

  it('compute what onnxruntime computes on the file with its functions, and differentiate', async () => {
    const bytes = modelWithFunctions();
    const x = randomInput(new Rng(8), [1, 3, 6, 6]);
    const s = await Session.create(bytes, { threads: 1, source: 'fn.onnx' });
    const want = (await s.run({ x }))['y']!;
    await s.release();
    const got = (await runModel(prepareModel(decodeModel(bytes)), { x }))['y']!;
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
    const dir = mkdtempSync(join(tmpdir(), 'fviz-functions-'));
    try {
      const path = join(dir, 'fn.onnx');
      writeFileSync(path, bytes);
      const rep = await doctor(path, { objective: 'y:1', directions: 2, threads: 1 });
      expect(rep.missing).toEqual([]);
      expect(rep.check!.worstRelError).toBeLessThan(1e-2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
