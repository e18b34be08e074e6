// The display-image preprocessing prepended to a classifier: values, channel order, and a model whose
// own input is already called 'image'.
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { DISPLAY_INPUT, withDisplayInput } from '../src/classifier/card.ts';
import { Session } from '../src/runtime/session.ts';

function identityNet(inputName: string) {
  const g = emptyGraph('id');
  g.inputs.push({ name: inputName, dtype: 'float32', shape: [1, 3, 1, 2] });
  const b = new GraphBuilder(g);
  const y = b.op('Identity', [inputName]);
  g.outputs.push({ name: y, dtype: 'float32', shape: [1, 3, 1, 2] });
  return { model: prepareModel(emptyModel(g)), out: y };
}

describe('withDisplayInput', () => {
  for (const name of ['data', DISPLAY_INPUT])
    it(`maps RGB [0,1] to the card's convention (network input named '${name}')`, async () => {
      const { model, out } = identityNet(name);
      const m = withDisplayInput(model, { channels: 'BGR', range: [0, 255], mean: [104, 117, 123], std: [1, 1, 2], size: [1, 2] });
      expect(m.graph.inputs.map((i) => i.name)).toEqual([DISPLAY_INPUT]);
      const s = await Session.create(m);
      const rgb = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]); // R: 0.1 0.2, G: 0.3 0.4, B: 0.5 0.6
      const r = (await s.run({ [DISPLAY_INPUT]: { dtype: 'float32', dims: [1, 3, 1, 2], data: rgb } }))[out]!.data as Float32Array;
      const want = [0.5 * 255 - 104, 0.6 * 255 - 104, 0.3 * 255 - 117, 0.4 * 255 - 117, (0.1 * 255 - 123) / 2, (0.2 * 255 - 123) / 2];
      want.forEach((v, k) => expect(r[k]).toBeCloseTo(v, 3));
      await s.release();
    });
});
