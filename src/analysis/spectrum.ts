// A dataset's average Fourier magnitude per colour channel (MaCo's fixed magnitude): mean over images of
// |fft2(channel in [0, 1])|, at the classifier's input size, made even in k. Cached under the cache dir,
// keyed by the dataset (the archive's hash for cifar10, the folder's path and file count otherwise) and size.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FvizError } from '../errors.ts';
import { writeAtomic } from '../onnx/proto.ts';
import { fft2 } from '../render/fft.ts';
import type { Size2 } from '../image/nchw.ts';
import { cacheDir } from '../dataset/cache-dir.ts';
import { openDataset } from '../dataset/open.ts';
import { evenIndices } from '../dataset/image-set.ts';

export interface SpectrumOptions {
  /** Images averaged (spread evenly over the training split; default 10000). */
  images?: number;
  onStatus?: (msg: string) => void;
}

/** [3, H, W] mean |fft2| per channel, fft2 order, even in k (M(k) = M(-k)). */
export async function averageSpectrum(spec: string, size: Size2, o: SpectrumOptions = {}): Promise<Float64Array> {
  const [h, w] = size;
  if (spec !== 'cifar10' && !existsSync(resolve(spec)))
    throw new FvizError(`dataset '${spec}' for the average spectrum is neither 'cifar10' nor an existing folder`, { subject: spec });
  if (spec === 'cifar10' && (h !== 32 || w !== 32))
    throw new FvizError(`cifar10's images are 32x32 but the classifier takes ${h}x${w}: give an image folder as --dataset (it is decoded at the classifier's size)`);
  const count = o.images ?? 10000;
  const ds = await openDataset(spec, { split: 'train', height: h, width: w, onStatus: o.onStatus });
  const key = createHash('sha256').update(JSON.stringify([ds.archiveSha256 ?? resolve(spec), ds.set.n, h, w, count])).digest('hex').slice(0, 16);
  const file = join(cacheDir('spectra'), `${key}.json`);
  if (existsSync(file)) {
    const cached = JSON.parse(readFileSync(file, 'utf8')) as { magnitude: number[] };
    return Float64Array.from(cached.magnitude);
  }
  const set = ds.set;
  if (set.n === 0) throw new FvizError(`dataset '${spec}' has no images to average the spectrum over`);
  if (set.height !== h || set.width !== w) throw new FvizError(`dataset '${spec}' has ${set.height}x${set.width} images; the spectrum needs ${h}x${w}`);
  const hw = h * w;
  const sum = new Float64Array(3 * hw);
  const re = new Float64Array(hw);
  const im = new Float64Array(hw);
  const idx = evenIndices(set.n, count);
  for (const i of idx) {
    const px = set.pixels.subarray(i * hw * 3, (i + 1) * hw * 3);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < hw; p++) re[p] = px[p * 3 + c]! / 255;
      im.fill(0);
      fft2(re, im, h, w, false);
      for (let k = 0; k < hw; k++) sum[c * hw + k]! += Math.hypot(re[k]!, im[k]!);
    }
  }
  const mag = new Float64Array(3 * hw);
  for (let c = 0; c < 3; c++)
    for (let k = 0; k < hw; k++) {
      const ky = Math.floor(k / w);
      const kx = k % w;
      const m = ((h - ky) % h) * w + ((w - kx) % w);
      mag[c * hw + k] = (sum[c * hw + k]! + sum[c * hw + m]!) / (2 * idx.length);
    }
  writeAtomic(file, JSON.stringify({ dataset: ds.description, size: [h, w], images: idx.length, magnitude: [...mag] }));
  return mag;
}
