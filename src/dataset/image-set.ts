// A labelled image set held in memory: N x H x W x 3 uint8 pixels (RGB, row-major, channels last) + labels.
import { FvizError } from '../errors.ts';

export interface ImageSet {
  /** Number of images. */
  n: number;
  height: number;
  width: number;
  /** Always 3 (RGB). */
  channels: 3;
  /** Class names in label order. */
  classes: string[];
  /** Label of each image (index into `classes`). */
  labels: Uint16Array;
  /** N x H x W x 3 bytes. */
  pixels: Uint8Array;
  /** Path of each image relative to the source folder, when it came from files. */
  files?: string[];
  /** Where it came from (folder or file), for messages and cards. */
  source: string;
  /** Files that could not be decoded and were left out. */
  skipped?: string[];
}

export function imageBytes(set: ImageSet): number {
  return set.height * set.width * set.channels;
}

/** The images at `indices`, in that order (a copy). */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const per = imageBytes(set);
  const pixels = new Uint8Array(indices.length * per);
  const labels = new Uint16Array(indices.length);
  const files = set.files ? new Array<string>(indices.length) : undefined;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (i < 0 || i >= set.n) throw new FvizError(`image index ${i} is out of range (the set has ${set.n})`);
    pixels.set(set.pixels.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = set.labels[i]!;
    if (files) files[k] = set.files![i]!;
  }
  return { ...set, n: indices.length, pixels, labels, files };
}

/** `count` indices spread evenly over the set in a fixed order (every class represented for sorted sets). */
export function evenIndices(n: number, count: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: count }, (_, k) => Math.floor((k * n) / count));
}

/** Image counts per class. */
export function classCounts(set: ImageSet): number[] {
  const counts = new Array<number>(set.classes.length).fill(0);
  for (const l of set.labels) counts[l]!++;
  return counts;
}
