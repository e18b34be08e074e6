// Decoding ahead of inference: images are decoded in order with a window of decodes in flight, so while
// onnxruntime runs batch k (synchronously, on the main thread) sharp's workers are already decoding the
// images of batch k+1 on libuv's thread pool. Unreadable images come through as failures, in order.
import type { Decoded, ImageSource } from './stream-source.ts';

export interface StreamedImage {
  /** Index into the source's names. */
  index: number;
  decoded: Decoded;
}

export interface DecodeStreamOptions {
  /** First image to decode (resume). */
  from?: number;
  height: number;
  width: number;
  /** Decodes in flight at once (default 16). */
  ahead?: number;
}

/** The source's images from `from` on, decoded `ahead` at a time, yielded in order. */
export async function* decodeInOrder(source: ImageSource, o: DecodeStreamOptions): AsyncGenerator<StreamedImage> {
  const total = source.names.length;
  const ahead = Math.max(1, o.ahead ?? 16);
  const inFlight: Promise<StreamedImage>[] = [];
  let next = o.from ?? 0;
  const issue = () => {
    const index = next++;
    inFlight.push(source.decode(index, o.height, o.width).then((decoded) => ({ index, decoded })));
  };
  while (inFlight.length < ahead && next < total) issue();
  try {
    while (inFlight.length > 0) {
      const item = await inFlight.shift()!;
      if (next < total) issue();
      yield item;
    }
  } finally {
    // Stopped early: let the decodes already issued finish quietly.
    for (const p of inFlight) p.catch(() => undefined);
  }
}

export interface ImageBatch {
  /** Source indices of the images in the batch, ascending. */
  indices: number[];
  pixels: Uint8Array[];
  /** Files skipped (unreadable) since the previous batch, with the reason. */
  skipped: { index: number; error: string }[];
  /** Index of the next source image after this batch (where a resume starts). */
  next: number;
}

/**
 * Batches of `batchSize` readable images (the last one may be smaller). Unreadable images are left out
 * and reported with the batch that follows them, so the batches are the same with or without them.
 */
export async function* readableBatches(source: ImageSource, batchSize: number, o: DecodeStreamOptions): AsyncGenerator<ImageBatch> {
  let indices: number[] = [];
  let pixels: Uint8Array[] = [];
  let skipped: { index: number; error: string }[] = [];
  for await (const { index, decoded } of decodeInOrder(source, { ...o, ahead: o.ahead ?? Math.max(16, 2 * batchSize) })) {
    if ('error' in decoded) {
      skipped.push({ index, error: decoded.error });
      continue;
    }
    indices.push(index);
    pixels.push(decoded.pixels);
    if (indices.length === batchSize) {
      yield { indices, pixels, skipped, next: index + 1 };
      indices = [];
      pixels = [];
      skipped = [];
    }
  }
  if (indices.length > 0 || skipped.length > 0) yield { indices, pixels, skipped, next: source.names.length };
}
