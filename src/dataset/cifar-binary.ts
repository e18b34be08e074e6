// The official CIFAR-10 binary format: records of 1 label byte + 3072 bytes (1024 R, 1024 G, 1024 B,
// each 32 x 32 row-major). data_batch_1..5.bin form the training split, test_batch.bin the test split.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import type { ImageSet } from './image-set.ts';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;

/** Decode records from one .bin file's bytes into HWC pixels. */
export function decodeCifarRecords(bytes: Uint8Array, source: string, classes = CIFAR10_CLASSES): ImageSet {
  if (bytes.length % RECORD !== 0)
    throw new FvizError(`'${source}' has ${bytes.length} bytes, not a multiple of the CIFAR-10 record size ${RECORD}`, { subject: source });
  const n = bytes.length / RECORD;
  const labels = new Uint16Array(n);
  const pixels = new Uint8Array(n * 3 * PLANE);
  for (let i = 0; i < n; i++) {
    const r = i * RECORD;
    const label = bytes[r]!;
    if (label >= classes.length)
      throw new FvizError(`'${source}' record ${i} has label ${label}; CIFAR-10 labels are 0..${classes.length - 1}`, { subject: source });
    labels[i] = label;
    const out = i * 3 * PLANE;
    for (let p = 0; p < PLANE; p++)
      for (let c = 0; c < 3; c++) pixels[out + p * 3 + c] = bytes[r + 1 + c * PLANE + p]!;
  }
  return { n, height: SIDE, width: SIDE, channels: 3, classes, labels, pixels, source };
}

/** Class names from batches.meta.txt when present. */
function metaClasses(dir: string): string[] {
  const meta = join(dir, 'batches.meta.txt');
  if (!existsSync(meta)) return CIFAR10_CLASSES;
  const names = readFileSync(meta, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l);
  return names.length ? names : CIFAR10_CLASSES;
}

/** The files of a split, in order. */
export function cifarBinaryFiles(split: 'train' | 'test'): string[] {
  return split === 'test' ? ['test_batch.bin'] : [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`);
}

/** Whether `dir` holds CIFAR-10 binaries (directly). */
export function isCifarBinaryDir(dir: string): boolean {
  return existsSync(join(dir, 'test_batch.bin')) || existsSync(join(dir, 'data_batch_1.bin'));
}

/** A split of a CIFAR-10 binary folder (the one holding data_batch_N.bin / test_batch.bin). */
export function readCifarBinary(dir: string, split: 'train' | 'test'): ImageSet {
  const classes = metaClasses(dir);
  const parts = cifarBinaryFiles(split).map((f) => {
    const p = join(dir, f);
    if (!existsSync(p)) throw new FvizError(`CIFAR-10 folder '${dir}' has no ${f} (needed for the ${split} split)`, { subject: p });
    return decodeCifarRecords(readFileSync(p), p, classes);
  });
  if (parts.length === 1) return { ...parts[0]!, source: dir };
  const n = parts.reduce((s, p) => s + p.n, 0);
  const labels = new Uint16Array(n);
  const pixels = new Uint8Array(n * 3 * PLANE);
  let at = 0;
  for (const p of parts) {
    labels.set(p.labels, at);
    pixels.set(p.pixels, at * 3 * PLANE);
    at += p.n;
  }
  return { n, height: SIDE, width: SIDE, channels: 3, classes, labels, pixels, source: dir };
}
