// The batch an atlas renders at, chosen by memory: the activations one item keeps for the gradient
// (every float tensor of the prepared graph, forward and backward) against a share of the free memory.
import { freemem } from 'node:os';
import type { Model } from '../onnx/ir.ts';
import { bytesPerElement } from '../onnx/proto.ts';

/** Bytes of every intermediate tensor of one batch item (the model prepared at batch 1). */
export function bytesPerItem(model: Model): number {
  let total = 0;
  for (const [name, t] of model.graph.valueTypes) {
    if (model.graph.initializers.has(name)) continue;
    const n = t.shape.reduce<number>((a, d) => a * (typeof d === 'number' && d > 0 ? d : 1), 1);
    total += n * bytesPerElement(t.dtype);
  }
  return total;
}

export interface BatchChoice {
  batch: number;
  bytesPerItem: number;
  budgetBytes: number;
}

/**
 * The largest batch whose activations (x3: forward values, their gradients, the runtime's scratch) fit in a
 * quarter of the free memory (at most 1 GiB), capped at `max` (more items per step stop paying on a CPU).
 */
export function chooseBatch(model: Model, o: { max?: number; freeBytes?: number } = {}): BatchChoice {
  const per = Math.max(1, bytesPerItem(model) * 3);
  const budget = Math.min((o.freeBytes ?? freemem()) / 4, 1024 ** 3);
  const batch = Math.max(1, Math.min(o.max ?? 32, Math.floor(budget / per)));
  return { batch, bytesPerItem: per, budgetBytes: budget };
}
