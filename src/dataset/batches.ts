// Batches of an ImageSet as float tensors (N x 3 x H x W, normalized), in an order that is a function of
// (seed, epoch) so an interrupted pass can resume at any batch and see the same images.
import { Rng } from '../util/rng.ts';
import { imageBytes, type ImageSet } from './image-set.ts';

export interface Normalization {
  /** Per-channel mean and std in [0,1] units: x = (pixel / 255 - mean) / std. */
  mean: [number, number, number];
  std: [number, number, number];
  /** Feed channels as B, G, R (mean and std are then in that order too). */
  bgr?: boolean;
}

export const IDENTITY_NORMALIZATION: Normalization = { mean: [0, 0, 0], std: [1, 1, 1] };

/** Per-image geometric augmentation: shift (dy, dx) with zero padding, and a horizontal flip. */
export interface ImageTransform {
  dy: number;
  dx: number;
  flip: boolean;
}

export interface Batch {
  /** N x 3 x H x W float32. */
  x: Float32Array;
  dims: [number, number, number, number];
  labels: Uint16Array;
  /** Image indices into the set. */
  indices: Uint32Array;
  /** Position of this batch in the pass. */
  batchIndex: number;
}

/** Mix integers into one 32-bit seed. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** A permutation of 0..n-1 determined by (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Rng(mixSeed(seed, epoch, 0x5eed));
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/**
 * Write images `indices` of `set` into `out` as N x 3 x H x W floats, normalized, each moved by its
 * transform (pixels shifted in from outside are 0 before normalization, i.e. black).
 */
export function fillBatch(set: ImageSet, indices: ArrayLike<number>, norm: Normalization, out: Float32Array, transforms?: ImageTransform[]): void {
  const H = set.height;
  const W = set.width;
  const per = imageBytes(set);
  const plane = H * W;
  const scale = norm.std.map((s) => 1 / (255 * s));
  const offset = norm.mean.map((m, c) => -m / norm.std[c]!);
  for (let k = 0; k < indices.length; k++) {
    const src = indices[k]! * per;
    const dst = k * 3 * plane;
    const t = transforms?.[k];
    const dy = t?.dy ?? 0;
    const dx = t?.dx ?? 0;
    const flip = t?.flip ?? false;
    for (let c = 0; c < 3; c++) {
      const sc = scale[c]!;
      const srcC = norm.bgr ? 2 - c : c;
      const off = offset[c]!;
      const base = dst + c * plane;
      for (let y = 0; y < H; y++) {
        const sy = y + dy;
        const row = base + y * W;
        if (sy < 0 || sy >= H) {
          out.fill(off, row, row + W);
          continue;
        }
        for (let x = 0; x < W; x++) {
          const sx = (flip ? W - 1 - x : x) + dx;
          out[row + x] = sx < 0 || sx >= W ? off : set.pixels[src + (sy * W + sx) * 3 + srcC]! * sc + off;
        }
      }
    }
  }
}

export interface BatchOptions {
  batchSize: number;
  norm?: Normalization;
  /** Image order (default: 0..n-1). */
  order?: ArrayLike<number>;
  /** Skip a last batch smaller than batchSize. */
  dropLast?: boolean;
  /** Start at this batch (resume). */
  startBatch?: number;
  /** Transforms for the images of batch `b`. */
  augment?: (batchIndex: number, count: number) => ImageTransform[];
}

export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/** Batches in order; one Float32Array per batch (the consumer may keep it). */
export async function* iterateBatches(set: ImageSet, opts: BatchOptions): AsyncGenerator<Batch> {
  yield* batchesSync(set, opts);
}

export function* batchesSync(set: ImageSet, opts: BatchOptions): Generator<Batch> {
  const order = opts.order ?? Uint32Array.from({ length: set.n }, (_, i) => i);
  const count = batchCount(order.length, opts.batchSize, opts.dropLast);
  const norm = opts.norm ?? IDENTITY_NORMALIZATION;
  for (let b = opts.startBatch ?? 0; b < count; b++) {
    const from = b * opts.batchSize;
    const to = Math.min(order.length, from + opts.batchSize);
    const indices = Uint32Array.from({ length: to - from }, (_, k) => order[from + k]!);
    const labels = new Uint16Array(indices.length);
    for (let k = 0; k < indices.length; k++) labels[k] = set.labels[indices[k]!]!;
    const x = new Float32Array(indices.length * 3 * set.height * set.width);
    fillBatch(set, indices, norm, x, opts.augment?.(b, indices.length));
    yield { x, dims: [indices.length, 3, set.height, set.width], labels, indices, batchIndex: b };
  }
}
