// Accuracy of a classifier on an image set: batches through onnxruntime, arg-max of the logits.
import { FvizError } from '../../errors.ts';
import { batchesSync, type Normalization } from '../../dataset/batches.ts';
import type { ImageSet } from '../../dataset/image-set.ts';
import type { InputConvention } from '../../classifier/card.ts';
import type { Model } from '../../onnx/ir.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';

export interface Accuracy {
  correct: number;
  n: number;
  accuracy: number;
  /** Accuracy per class (NaN for a class with no image). */
  perClass: number[];
  /** Mean cross-entropy of the softmax of the logits. */
  loss: number;
}

/** The batch normalization that realizes a card's input convention from 8-bit RGB pixels. */
export function normalizationFor(input: InputConvention): Normalization {
  const [lo, hi] = input.range;
  const span = hi - lo;
  return {
    mean: input.mean.map((m) => (m - lo) / span) as [number, number, number],
    std: input.std.map((s) => s / span) as [number, number, number],
    bgr: input.channels === 'BGR',
  };
}

export interface EvaluateOptions extends SessionOptions {
  norm: Normalization;
  batchSize?: number;
  /** Output holding the logits (or probabilities); default: the first output. */
  output?: string;
  onProgress?: (done: number, total: number) => void;
}

export function argmaxRow(logits: Float32Array, row: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (logits[row * k + c]! > logits[row * k + best]!) best = c;
  return best;
}

/** Cross-entropy of one row's softmax at `label`. */
export function rowLoss(logits: Float32Array, row: number, k: number, label: number): number {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, logits[row * k + c]!);
  let sum = 0;
  for (let c = 0; c < k; c++) sum += Math.exp(logits[row * k + c]! - max);
  return Math.log(sum) + max - logits[row * k + label]!;
}

export async function evaluateClassifier(model: Model | Uint8Array | Session, set: ImageSet, opts: EvaluateOptions): Promise<Accuracy> {
  const session = model instanceof Session ? model : await Session.create(model, { source: 'classifier', ...opts });
  try {
    const input = session.inputNames[0]!;
    const output = opts.output ?? session.outputNames[0]!;
    if (!session.outputNames.includes(output)) throw new FvizError(`classifier has no output '${output}'; its outputs: ${session.outputNames.join(', ')}`);
    const K = set.classes.length;
    const correctPer = new Array<number>(K).fill(0);
    const countPer = new Array<number>(K).fill(0);
    let correct = 0;
    let lossSum = 0;
    let done = 0;
    for (const batch of batchesSync(set, { batchSize: opts.batchSize ?? 250, norm: opts.norm })) {
      const out = await session.run({ [input]: { dtype: 'float32', dims: batch.dims, data: batch.x } }, [output]);
      const logits = out[output]!.data as Float32Array;
      const k = logits.length / batch.labels.length;
      if (k !== K) throw new FvizError(`classifier output '${output}' has ${k} classes per image, the dataset ${K}`);
      for (let i = 0; i < batch.labels.length; i++) {
        const label = batch.labels[i]!;
        countPer[label]!++;
        lossSum += rowLoss(logits, i, k, label);
        if (argmaxRow(logits, i, k) === label) {
          correct++;
          correctPer[label]!++;
        }
      }
      done += batch.labels.length;
      opts.onProgress?.(done, set.n);
    }
    return { correct, n: set.n, accuracy: correct / set.n, perClass: correctPer.map((c, i) => c / countPer[i]!), loss: lossSum / set.n };
  } finally {
    if (!(model instanceof Session)) await session.release();
  }
}
