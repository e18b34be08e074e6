// The ImageFolder layout: one folder per class, images inside (JPEG, PNG, WebP, GIF), decoded once with
// sharp into a packed uint8 cache and read from there afterwards.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import sharp from 'sharp';
import { FvizError } from '../errors.ts';
import { cacheDir } from './cache-dir.ts';
import type { ImageSet } from './image-set.ts';
import { packKey, readPack, writePack } from './pack.ts';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif'];

export interface FolderListing {
  root: string;
  classes: string[];
  /** Paths relative to root, sorted by class then path. */
  files: string[];
  labels: number[];
}

function isImage(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e));
}

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && isImage(e.name)) out.push(p);
  }
}

/** Class folders (sorted by name) and their images. */
export function listImageFolder(root: string): FolderListing {
  const abs = resolve(root);
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    throw new FvizError(`dataset folder '${root}' does not exist`, { subject: root });
  const classes = readdirSync(abs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0)
    throw new FvizError(`dataset folder '${root}' has no class folders: expected one subfolder of images per class`, { subject: root });
  const files: string[] = [];
  const labels: number[] = [];
  classes.forEach((c, label) => {
    const found: string[] = [];
    walk(join(abs, c), found);
    found.sort();
    for (const f of found) {
      files.push(relative(abs, f));
      labels.push(label);
    }
  });
  if (files.length === 0) throw new FvizError(`dataset folder '${root}' has class folders but no images (${IMAGE_EXTENSIONS.join(', ')})`, { subject: root });
  return { root: abs, classes, files, labels };
}

/** Decode one image to `height` x `width` RGB bytes (center crop when the aspect differs); null if unreadable. */
export async function decodeImage(path: string, height: number, width: number): Promise<Uint8Array | null> {
  try {
    const { data, info } = await sharp(path, { failOn: 'error', pages: 1 })
      .resize(width, height, { fit: 'cover' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height) return null;
    if (info.channels === 3) return new Uint8Array(data.buffer, data.byteOffset, data.length);
    const px = new Uint8Array(height * width * 3);
    for (let i = 0; i < height * width; i++) for (let c = 0; c < 3; c++) px[i * 3 + c] = data[i * info.channels + Math.min(c, info.channels - 1)]!;
    return px;
  } catch {
    return null;
  }
}

export interface LoadFolderOptions {
  /** Size every image is decoded to (default 32 x 32). */
  height?: number;
  width?: number;
  /** Images decoded at once. */
  concurrency?: number;
  /** Called as images are decoded (only when the cache is built). */
  onProgress?: (done: number, total: number) => void;
  /** Where packs are kept (default: <cache>/packs). */
  packDir?: string;
}

function listingKey(l: FolderListing, height: number, width: number): string {
  const h = createHash('sha256');
  h.update(`${l.root}\n${height}x${width}\n${l.classes.join('/')}\n`);
  for (const f of l.files) {
    const st = statSync(join(l.root, f));
    h.update(`${f}\t${st.size}\t${Math.round(st.mtimeMs)}\n`);
  }
  return h.digest('hex');
}

/** The pack file a folder decodes into. */
export function packPathFor(root: string, key: string, height: number, width: number, packDir?: string): string {
  const stem = basename(resolve(root)).replace(/[^A-Za-z0-9_.-]/g, '_');
  const parent = basename(resolve(root, '..')).replace(/[^A-Za-z0-9_.-]/g, '_');
  return join(packDir ?? cacheDir('packs'), `${parent}-${stem}-${height}x${width}-${key.slice(0, 16)}.fvzpack`);
}

/** Decode every image of the listing (in parallel, `concurrency` at a time). */
export async function decodeListing(l: FolderListing, opts: LoadFolderOptions = {}): Promise<ImageSet> {
  const height = opts.height ?? 32;
  const width = opts.width ?? 32;
  const per = height * width * 3;
  const concurrency = opts.concurrency ?? 32;
  const decoded: (Uint8Array | null)[] = new Array(l.files.length).fill(null);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= l.files.length) return;
      decoded[i] = await decodeImage(join(l.root, l.files[i]!), height, width);
      done++;
      if (opts.onProgress && (done % 500 === 0 || done === l.files.length)) opts.onProgress(done, l.files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, l.files.length) }, worker));
  const kept = decoded.map((d, i) => (d ? i : -1)).filter((i) => i >= 0);
  const skipped = decoded.map((d, i) => (d ? '' : l.files[i]!)).filter((f) => f);
  if (kept.length === 0) throw new FvizError(`no image in '${l.root}' could be decoded`, { subject: l.root });
  const pixels = new Uint8Array(kept.length * per);
  const labels = new Uint16Array(kept.length);
  kept.forEach((i, k) => {
    pixels.set(decoded[i]!, k * per);
    labels[k] = l.labels[i]!;
  });
  return {
    n: kept.length,
    height,
    width,
    channels: 3,
    classes: l.classes,
    labels,
    pixels,
    files: kept.map((i) => l.files[i]!),
    source: l.root,
    skipped,
  };
}

/** An ImageFolder as an ImageSet, from its packed cache when the folder is unchanged, else decoded and packed. */
export async function loadImageFolder(root: string, opts: LoadFolderOptions = {}): Promise<ImageSet> {
  const height = opts.height ?? 32;
  const width = opts.width ?? 32;
  const listing = listImageFolder(root);
  const key = listingKey(listing, height, width);
  const pack = packPathFor(root, key, height, width, opts.packDir);
  if (existsSync(pack) && packKey(pack) === key) return readPack(pack);
  const set = await decodeListing(listing, opts);
  writePack(pack, set, key);
  return set;
}
