// A tiny generator for DGN-AM and PPGN tests: code [1, CODE] -> Gemm -> LeakyRelu(0.3) -> Gemm -> image
// [1, 3, GEN, GEN], with the given weights (W1 [HID, CODE], b1 [HID], W2 [3*GEN*GEN, HID]).
import { GraphBuilder } from '../../src/onnx/builder.ts';
import { emptyGraph, emptyModel, type Model } from '../../src/onnx/ir.ts';
import { prepareModel } from '../../src/onnx/prepare.ts';
import { tensor } from '../../src/onnx/tensor.ts';

export function tinyGenerator(dims: { code: number; hidden: number; size: number }, W1: number[], b1: number[], W2: number[]): Model {
  const { code: CODE, hidden: HID, size: GEN } = dims;
  const g = emptyGraph('gen');
  g.inputs.push({ name: 'code', dtype: 'float32', shape: [1, CODE] });
  const b = new GraphBuilder(g);
  const h = b.op('Gemm', ['code', b.constant(tensor('float32', [HID, CODE], W1)), b.constant(tensor('float32', [HID], b1))], { transB: { i: 1 } });
  const a = b.op('LeakyRelu', [h], { alpha: { f: 0.3 } });
  const o = b.op('Gemm', [a, b.constant(tensor('float32', [3 * GEN * GEN, HID], W2))], { transB: { i: 1 } });
  const img = b.op('Reshape', [o, b.constant(tensor('int64', [4], [1, 3, GEN, GEN]))]);
  g.outputs.push({ name: img, dtype: 'float32', shape: [1, 3, GEN, GEN] });
  return prepareModel(emptyModel(g));
}
