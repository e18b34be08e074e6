// Softmax cross-entropy over a batch, appended to a graph from ONNX primitives:
// loss = -(1/N) sum_n sum_k target[n,k] log_softmax(logits)[n,k], with target one-hot (or smoothed) rows.
import { GraphBuilder } from '../../onnx/builder.ts';
import type { Model } from '../../onnx/ir.ts';
import { cloneModel } from '../../onnx/ir.ts';
import { inferShapes } from '../../onnx/shapes.ts';
import { tensor } from '../../onnx/tensor.ts';

export const TARGET_INPUT = 'target';
export const LOSS = 'loss';

export function withCrossEntropy(model: Model, logits: string, batch: number, classes: number): Model {
  const m = cloneModel(model);
  const g = m.graph;
  const b = new GraphBuilder(g);
  g.inputs.push({ name: TARGET_INPUT, dtype: 'float32', shape: [batch, classes] });
  b.fresh(TARGET_INPUT);
  const logp = b.op('LogSoftmax', [logits], { axis: { i: 1 } }, 'log_prob');
  const picked = b.op('Mul', [logp, TARGET_INPUT], {}, 'target_log_prob');
  const total = b.op('ReduceSum', [picked, b.constant(tensor('int64', [2], [0, 1]), 'all_axes')], { keepdims: { i: 0 } }, 'sum_log_prob');
  b.node('Mul', [total, b.constant(tensor('float32', [], [-1 / batch]), 'minus_inv_batch')], {}, [LOSS]);
  g.outputs.push({ name: LOSS, dtype: 'float32', shape: [] });
  inferShapes(g);
  return m;
}

/** Target rows: 1 - smoothing on the label, smoothing / classes spread over all classes. */
export function targetRows(labels: ArrayLike<number>, classes: number, smoothing = 0): Float32Array {
  const t = new Float32Array(labels.length * classes).fill(smoothing / classes);
  for (let i = 0; i < labels.length; i++) t[i * classes + labels[i]!] += 1 - smoothing;
  return t;
}
