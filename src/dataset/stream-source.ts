// What a scan reads: a fixed, ordered list of images that can each be decoded on demand to a given size.
// A folder of any size (recursive; JPEG, PNG, WebP, GIF first frame) decodes file by file through sharp;
// an in-memory ImageSet (the CIFAR-10 pack, CIFAR binaries) hands out its pixels. Neither holds more
// than the images asked for, so a scan's memory does not grow with the dataset.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import sharp from 'sharp';
import { FvizError } from '../errors.ts';
import { cifar10Folders } from './cifar10.ts';
import { isCifarBinaryDir, readCifarBinary } from './cifar-binary.ts';
import { IMAGE_EXTENSIONS, loadImageFolder } from './image-folder.ts';
import { imageBytes, type ImageSet } from './image-set.ts';

/** One decode: RGB bytes (HWC) at the asked size, or why the file could not be read. */
export type Decoded = { pixels: Uint8Array } | { error: string };

export interface ImageSource {
  /** Name of each image (a path relative to `root` for files), in scan order. */
  readonly names: readonly string[];
  /** Folder the names are relative to, when they are files. */
  readonly root?: string;
  /** Class names and each image's class, when the source has them (ImageFolder layout, CIFAR). */
  readonly classes?: readonly string[];
  readonly labels?: ArrayLike<number>;
  /** For messages and run.json. */
  readonly description: string;
  /** Changes whenever the images could have changed (file list, sizes, times; pixel hash): checkpoints compare it. */
  readonly key: string;
  /** Decodes image `index` to `height` x `width` RGB (scaled to cover and centre-cropped, like readImage). */
  decode(index: number, height: number, width: number): Promise<Decoded>;
}

function isImageName(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

/** Every image file under `root` (hidden entries skipped), relative paths with '/' separators, sorted. */
export function listImageFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      throw new FvizError(`cannot list '${dir}': ${(e as Error).message}`, { subject: dir, cause: e });
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if ((e.isFile() || e.isSymbolicLink()) && isImageName(e.name)) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(root);
  // Byte order, not locale order: the same list on every machine.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** sharp's decode of one file (or raw pixels) to RGB at the asked size; errors become messages. */
async function sharpDecode(input: sharp.Sharp, height: number, width: number): Promise<Decoded> {
  try {
    const { data, info } = await input
      .resize({ width, height, fit: 'cover', position: 'centre' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height) return { error: `decoded to ${info.width}x${info.height}, not ${width}x${height}` };
    if (info.channels === 3) return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    const px = new Uint8Array(height * width * 3);
    for (let i = 0; i < height * width; i++) for (let c = 0; c < 3; c++) px[i * 3 + c] = data[i * info.channels + Math.min(c, info.channels - 1)]!;
    return { pixels: px };
  } catch (e) {
    return { error: (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim() };
  }
}

/** A folder of images, recursively. Subfolders directly under the root are classes when every image sits in one. */
export function folderSource(dir: string): ImageSource {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new FvizError(`dataset folder '${dir}' does not exist`, { subject: dir });
  const names = listImageFiles(root);
  if (names.length === 0) throw new FvizError(`dataset folder '${dir}' has no images (${IMAGE_EXTENSIONS.join(', ')})`, { subject: dir });
  const h = createHash('sha256');
  h.update(`folder\n${root}\n`);
  for (const n of names) {
    let size = -1;
    let mtime = -1;
    try {
      const st = statSync(join(root, n));
      size = st.size;
      mtime = Math.round(st.mtimeMs);
    } catch {
      /* unreadable: the decode reports it */
    }
    h.update(`${n}\t${size}\t${mtime}\n`);
  }
  let classes: string[] | undefined;
  let labels: Uint16Array | undefined;
  if (names.every((n) => n.includes('/'))) {
    const tops = names.map((n) => n.slice(0, n.indexOf('/')));
    classes = [...new Set(tops)].sort();
    const at = new Map(classes.map((c, i) => [c, i]));
    labels = Uint16Array.from(tops, (t) => at.get(t)!);
  }
  return {
    names,
    root,
    classes,
    labels,
    description: `image folder ${root} (${names.length} files)`,
    key: h.digest('hex'),
    async decode(index, height, width) {
      const file = join(root, names[index]!);
      const d = await sharpDecode(sharp(file, { failOn: 'truncated', pages: 1 }).rotate(), height, width);
      if ('error' in d) {
        // sharp's message for a file it cannot open says little; name the common cases plainly.
        try {
          if (statSync(file).size === 0) return { error: 'empty file (0 bytes)' };
        } catch (e) {
          return { error: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
        }
      }
      return d;
    },
  };
}

/** An ImageSet already in memory; images are resized (cover + centre crop) when the asked size differs. */
export function imageSetSource(set: ImageSet, description: string, root?: string): ImageSource {
  const per = imageBytes(set);
  const h = createHash('sha256');
  h.update(`imageset\n${set.n}x${set.height}x${set.width}\n${(set.files ?? []).join('\n')}\n`);
  h.update(set.labels);
  h.update(set.pixels);
  const names = set.files ?? Array.from({ length: set.n }, (_, i) => `#${i}`);
  return {
    names,
    root: set.files ? root : undefined,
    classes: set.classes,
    labels: set.labels,
    description,
    key: h.digest('hex'),
    async decode(index, height, width) {
      const px = set.pixels.subarray(index * per, (index + 1) * per);
      if (height === set.height && width === set.width) return { pixels: px.slice() };
      return sharpDecode(sharp(px, { raw: { width: set.width, height: set.height, channels: 3 } }), height, width);
    },
  };
}

/**
 * A dataset spec as a scan source: `cifar10` (the CIFAR-10 test split, from the shared archive through the
 * packed cache), a CIFAR-10 binary folder (its test split), or any folder of images (streamed).
 */
export async function openScanSource(spec: string, onStatus?: (msg: string) => void): Promise<ImageSource> {
  if (spec === 'cifar10') {
    const { root } = await cifar10Folders(onStatus);
    const testRoot = join(root, 'test');
    const set = await loadImageFolder(testRoot, { height: 32, width: 32 });
    return imageSetSource(set, `cifar10 test (${set.n} images)`, testRoot);
  }
  const dir = resolve(spec);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new FvizError(`dataset '${spec}' is neither 'cifar10' nor an existing folder`, { subject: spec });
  for (const d of [dir, join(dir, 'cifar-10-batches-bin')])
    if (isCifarBinaryDir(d) && existsSync(join(d, 'test_batch.bin'))) {
      const set = readCifarBinary(d, 'test');
      return imageSetSource(set, `CIFAR-10 binaries ${d} test (${set.n} images)`);
    }
  return folderSource(dir);
}

/** HWC bytes of `count` images -> N x 3 x H x W floats in [0, 1], zero-padded to `batch` images. */
export function toDisplayBatch(images: readonly Uint8Array[], batch: number, height: number, width: number, out?: Float32Array): Float32Array {
  const plane = height * width;
  const x = out ?? new Float32Array(batch * 3 * plane);
  x.fill(0, images.length * 3 * plane);
  const inv = 1 / 255;
  images.forEach((px, k) => {
    const base = k * 3 * plane;
    for (let p = 0; p < plane; p++) {
      x[base + p] = px[p * 3]! * inv;
      x[base + plane + p] = px[p * 3 + 1]! * inv;
      x[base + 2 * plane + p] = px[p * 3 + 2]! * inv;
    }
  });
  return x;
}
