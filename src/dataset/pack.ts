// The packed uint8 cache of a decoded image set: one file, written atomically, read back in one go.
// Layout: 'FVZPACK1' | u32 LE header length | JSON header | pad to 8 | labels (u16 LE x N) | pad to 8 | pixels.
import { closeSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { FvizError } from '../errors.ts';
import type { ImageSet } from './image-set.ts';

const MAGIC = 'FVZPACK1';

interface PackHeader {
  version: 1;
  n: number;
  height: number;
  width: number;
  channels: 3;
  classes: string[];
  files?: string[];
  skipped?: string[];
  source: string;
  /** Identifies what was decoded (file list, sizes, times, target size): a mismatch means rebuild. */
  key: string;
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

export function writePack(path: string, set: ImageSet, key: string): void {
  const header: PackHeader = {
    version: 1,
    n: set.n,
    height: set.height,
    width: set.width,
    channels: 3,
    classes: set.classes,
    files: set.files,
    skipped: set.skipped,
    source: set.source,
    key,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  const labels = Buffer.alloc(set.n * 2);
  for (let i = 0; i < set.n; i++) labels.writeUInt16LE(set.labels[i]!, i * 2);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const parts = [head, json, Buffer.alloc(pad8(12 + json.length)), labels, Buffer.alloc(pad8(labels.length)), set.pixels];
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function readExactly(fd: number, buf: Uint8Array, position: number, path: string): void {
  let off = 0;
  while (off < buf.length) {
    const got = readSync(fd, buf, off, buf.length - off, position + off);
    if (got === 0) throw new FvizError(`packed dataset '${path}' is truncated: delete it to rebuild`, { subject: path });
    off += got;
  }
}

/** The header's key without reading the pixels (undefined when the file is not a pack). */
export function packKey(path: string): string | undefined {
  try {
    return readHeader(path).header.key;
  } catch {
    return undefined;
  }
}

function readHeader(path: string): { header: PackHeader; offset: number } {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(12);
    readExactly(fd, head, 0, path);
    if (head.toString('latin1', 0, 8) !== MAGIC) throw new FvizError(`'${path}' is not an fviz packed dataset`, { subject: path });
    const len = head.readUInt32LE(8);
    const json = Buffer.alloc(len);
    readExactly(fd, json, 12, path);
    const header = JSON.parse(json.toString('utf8')) as PackHeader;
    return { header, offset: 12 + len + pad8(12 + len) };
  } finally {
    closeSync(fd);
  }
}

export function readPack(path: string): ImageSet {
  const { header: h, offset } = readHeader(path);
  const per = h.height * h.width * h.channels;
  const labelBytes = h.n * 2;
  const pixelOffset = offset + labelBytes + pad8(labelBytes);
  const expected = pixelOffset + h.n * per;
  const size = statSync(path).size;
  if (size !== expected)
    throw new FvizError(`packed dataset '${path}' has ${size} bytes, expected ${expected}: delete it to rebuild`, { subject: path });
  const fd = openSync(path, 'r');
  try {
    const lb = Buffer.alloc(labelBytes);
    readExactly(fd, lb, offset, path);
    const labels = new Uint16Array(h.n);
    for (let i = 0; i < h.n; i++) labels[i] = lb.readUInt16LE(i * 2);
    const pixels = new Uint8Array(h.n * per);
    readExactly(fd, pixels, pixelOffset, path);
    return {
      n: h.n,
      height: h.height,
      width: h.width,
      channels: 3,
      classes: h.classes,
      labels,
      pixels,
      files: h.files,
      skipped: h.skipped,
      source: h.source,
    };
  } finally {
    closeSync(fd);
  }
}
