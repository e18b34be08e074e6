// A small conv net that exercises every op the tfjs reference translates, with the awkward attribute
// variants (explicit asymmetric pads, ceil_mode, groups, dilations, count_include_pad, output_padding):
// the tfjs-vs-onnxruntime parity test runs on it, and it is small enough to do so in seconds.
import { GraphBuilder } from '../src/onnx/builder.ts';
import type { Model } from '../src/onnx/ir.ts';
import { attr, emptyGraph, emptyModel, sizeOf } from '../src/onnx/ir.ts';
import { f32, vecI64 } from '../src/onnx/tensor.ts';
import { Rng } from '../src/util/rng.ts';

export const SMALL_INPUT = 'image';
export const SMALL_SHAPE = [2, 3, 17, 17];
/** A spatial tensor of the small model worth putting an objective on. */
export const SMALL_MID = 'mixed';
export const SMALL_LOGITS = 'logits';

/** The raw (unprepared) small model; `prepareModel` it before use. */
export function smallConvModel(seed = 3): Model {
  const rng = new Rng(seed);
  const g = emptyGraph('small_conv');
  g.inputs.push({ name: SMALL_INPUT, dtype: 'float32', shape: [...SMALL_SHAPE] });
  const b = new GraphBuilder(g);
  const w = (dims: number[], fanIn: number, base: string) =>
    b.constant(f32(dims, rng.fillNormal(new Float32Array(sizeOf(dims)), Math.sqrt(2 / fanIn))), base);
  const bias = (n: number) => b.constant(f32([n], rng.fillNormal(new Float32Array(n), 0.1)), 'bias');

  // conv 3->8, k3, pad 1 (+bias), relu, LRN (odd size), max pool k3 s2 ceil_mode
  let x = b.op('Conv', [SMALL_INPUT, w([8, 3, 3, 3], 27, 'w1'), bias(8)], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
  x = b.op('Relu', [x]);
  x = b.op('LRN', [x], { size: attr.i(5), alpha: attr.f(1e-2), beta: attr.f(0.75), bias: attr.f(1) });
  x = b.op('MaxPool', [x], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), ceil_mode: attr.i(1) }); // 17 -> 8
  // grouped conv with asymmetric pads; depthwise conv with dilation
  x = b.op('Conv', [x, w([12, 4, 3, 3], 36, 'wg'), bias(12)], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([0, 1, 2, 1]), group: attr.i(2) });
  x = b.op('LeakyRelu', [x], { alpha: attr.f(0.3) });
  const dw = b.op('Conv', [x, w([12, 1, 3, 3], 9, 'wd')], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([2, 2, 2, 2]), dilations: attr.ints([2, 2]), group: attr.i(12) });
  // inception-like branches: 1x1, strided dilated 3x3, LRN, avg pool both count modes
  const b1 = b.op('Conv', [dw, w([6, 12, 1, 1], 12, 'wb1'), bias(6)], { kernel_shape: attr.ints([1, 1]) });
  const b2 = b.op('Relu', [b.op('Conv', [dw, w([5, 12, 3, 3], 108, 'wb2'), bias(5)], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([2, 2, 2, 2]), dilations: attr.ints([2, 2]) })]);
  const b3 = b.op('LRN', [dw], { size: attr.i(3), alpha: attr.f(2e-2), beta: attr.f(0.5), bias: attr.f(2) });
  const b4 = b.op('AveragePool', [dw], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
  const b5 = b.op('AveragePool', [dw], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]), count_include_pad: attr.i(1) });
  const mixed = b.node('Concat', [b1, b2, b3, b4, b5], { axis: attr.i(1) }, [SMALL_MID])[0]!; // 12+5+... at 8x8
  // strided conv with explicit pads, then a transposed conv (stride 2, pads, output_padding), add a bias map
  let y = b.op('Conv', [mixed, w([8, 47, 3, 3], 423, 'ws'), bias(8)], { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) });
  y = b.op('ConvTranspose', [y, w([8, 4, 4, 4], 128, 'wt'), bias(4)], {
    kernel_shape: attr.ints([4, 4]),
    strides: attr.ints([2, 2]),
    pads: attr.ints([1, 1, 1, 1]),
    output_padding: attr.ints([1, 1]),
  });
  y = b.op('Add', [y, b.constant(f32([4, 1, 1], [0.1, -0.2, 0.3, 0]), 'chan_bias')]);
  y = b.op('Relu', [y]);
  y = b.op('MaxPool', [y], { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 0, 0]) });
  const gap = b.op('GlobalAveragePool', [y]);
  const flat = b.op('Flatten', [gap]);
  // a reshape path from the mixed features too: [N, 47*8*8] -> Gemm
  const r = b.op('Reshape', [mixed, b.constant(vecI64([0, -1]), 'shape')]);
  const fr = b.op('Gemm', [r, w([5, 47 * 64], 47 * 64, 'wfr')], { transB: attr.i(1), alpha: attr.f(0.5) });
  const fg = b.op('Gemm', [flat, w([4, 5], 4, 'wfg'), bias(5)], { beta: attr.f(2) });
  const logits = b.node('Add', [fr, fg], {}, [SMALL_LOGITS])[0]!;
  const prob = b.op('Softmax', [logits], { axis: attr.i(1) });
  g.outputs.push({ name: prob, dtype: 'float32', shape: [SMALL_SHAPE[0]!, 5] });
  return emptyModel(g);
}
