// Image files <-> float32 NCHW batches in [0, 1] RGB, through sharp. Reading handles JPEG, PNG, WebP,
// GIF (first frame), TIFF, AVIF; grey and alpha images become RGB (alpha flattened onto white). Writing
// quantizes to 8-bit PNG with fixed encoder settings, so the same tensor always gives the same bytes.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { FvizError } from '../errors.ts';
import type { Nchw, Size2 } from '../image/nchw.ts';
import { nchw } from '../image/nchw.ts';

export interface ReadOptions {
  /** Output size: a number for a square, or [h, w]. Default: the file's own size. */
  size?: number | Size2;
  /**
   * How the file is brought to `size`: 'crop' (default) scales to cover and centre-crops, 'stretch'
   * ignores the aspect ratio, 'pad' scales to fit and pads with mid-grey.
   */
  fit?: 'crop' | 'stretch' | 'pad';
}

async function checkReadable(file: string): Promise<void> {
  let st;
  try {
    st = await stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FvizError(`image '${file}' does not exist`, { subject: file, cause: e });
    if (code === 'EACCES') throw new FvizError(`image '${file}' cannot be read: permission denied`, { subject: file, cause: e });
    throw new FvizError(`image '${file}' cannot be read: ${(e as Error).message}`, { subject: file, cause: e });
  }
  if (st.isDirectory()) throw new FvizError(`image '${file}' is a directory, not an image file`, { subject: file });
}

function sizeOf(size: number | Size2): Size2 {
  const s: Size2 = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(s[0]) && Number.isInteger(s[1]) && s[0] > 0 && s[1] > 0)) throw new FvizError(`image size must be positive integers, got ${s.join('x')}`);
  return s;
}

/** HWC 8-bit RGB -> [1, 3, h, w] float32 in [0, 1]. */
export function fromRgbBytes(bytes: Uint8Array, h: number, w: number, channels = 3): Nchw {
  const out = nchw(1, 3, h, w);
  const P = h * w;
  for (let p = 0; p < P; p++)
    for (let c = 0; c < 3; c++) out.data[c * P + p] = bytes[p * channels + Math.min(c, channels - 1)]! / 255;
  return out;
}

/** Reads one image file as a [1, 3, H, W] batch in [0, 1]. */
export async function readImage(file: string, o: ReadOptions = {}): Promise<Nchw> {
  await checkReadable(file);
  try {
    let pipe = sharp(file, { pages: 1, failOn: 'truncated' }).rotate();
    if (o.size !== undefined) {
      const [h, w] = sizeOf(o.size);
      const fit = o.fit ?? 'crop';
      pipe = pipe.resize({
        width: w,
        height: h,
        fit: fit === 'crop' ? 'cover' : fit === 'stretch' ? 'fill' : 'contain',
        position: 'centre',
        background: { r: 128, g: 128, b: 128, alpha: 1 },
      });
    }
    const { data, info } = await pipe
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return fromRgbBytes(data, info.height, info.width, info.channels);
  } catch (e) {
    if (e instanceof FvizError) throw e;
    const msg = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
    throw new FvizError(`image '${file}' is not a readable image (JPEG, PNG, WebP, GIF, TIFF, AVIF): ${msg}`, { subject: file, cause: e });
  }
}

/** Reads several files at one size into an [N, 3, H, W] batch. */
export async function readImages(files: readonly string[], o: ReadOptions & { size: number | Size2 }): Promise<Nchw> {
  const [h, w] = sizeOf(o.size);
  const out = nchw(files.length, 3, h, w);
  for (let i = 0; i < files.length; i++) out.data.set((await readImage(files[i]!, o)).data, i * 3 * h * w);
  return out;
}

/** Member `index` of the batch as HWC 8-bit RGB: clamped to [0, 1], rounded, NaN as 0. */
export function toRgbBytes(img: Nchw, index = 0): Uint8Array {
  const [n, c, h, w] = img.dims;
  if (index < 0 || index >= n) throw new FvizError(`image index ${index} out of range 0..${n - 1}`);
  if (c !== 3 && c !== 1) throw new FvizError(`cannot write an image of ${c} channels (need 1 or 3)`);
  const P = h * w;
  const base = index * c * P;
  const out = new Uint8Array(P * 3);
  for (let p = 0; p < P; p++)
    for (let k = 0; k < 3; k++) {
      const v = img.data[base + (c === 1 ? 0 : k) * P + p]!;
      out[p * 3 + k] = v > 0 ? (v < 1 ? Math.round(v * 255) : 255) : 0;
    }
  return out;
}

/** PNG bytes from HWC 8-bit RGB, with fixed encoder settings (deterministic). */
export async function encodePngRgb(bytes: Uint8Array, h: number, w: number): Promise<Buffer> {
  return sharp(bytes, { raw: { width: w, height: h, channels: 3 } })
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

export async function encodePng(img: Nchw, index = 0): Promise<Buffer> {
  return encodePngRgb(toRgbBytes(img, index), img.dims[2], img.dims[3]);
}

/** Writes member `index` of the batch as a PNG, creating the folder. */
export async function writePng(img: Nchw, file: string, index = 0): Promise<void> {
  const png = await encodePng(img, index);
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, png);
  } catch (e) {
    throw new FvizError(`cannot write '${file}': ${(e as Error).message}`, { subject: file, cause: e });
  }
}
