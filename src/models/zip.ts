// Reading one member out of a .zip archive (the fc6 generator ships inside release_deepsim_v0.zip):
// the central directory (zip64 included), then the member streamed through inflate, its CRC-32 checked.
import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { FvizError } from '../errors.ts';

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function readAt(fd: number, position: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  const n = readSync(fd, b, 0, length, position);
  return b.subarray(0, n);
}

function u64(b: Buffer, at: number): number {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FvizError('zip: a size beyond 2^53');
  return Number(v);
}

/** Whether the file starts like a zip archive. */
export function looksLikeZip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = readAt(fd, 0, 4);
    return b.length === 4 && b.readUInt32LE(0) === LOCAL;
  } finally {
    closeSync(fd);
  }
}

/** The entries of the central directory. */
export function listZip(path: string): ZipEntry[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLength = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, size - tailLength, tailLength);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--)
      if (tail.readUInt32LE(i) === EOCD) {
        at = i;
        break;
      }
    if (at < 0) throw new FvizError(`'${path}' is not a zip archive (no end of central directory)`, { subject: path });
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    if (cdOffset === 0xffffffff || cdSize === 0xffffffff || count === 0xffff) {
      const locAt = at - 20;
      if (locAt < 0 || tail.readUInt32LE(locAt) !== ZIP64_LOCATOR) throw new FvizError(`'${path}': zip64 archive without its locator`, { subject: path });
      const eocd64 = readAt(fd, u64(tail, locAt + 8), 56);
      if (eocd64.readUInt32LE(0) !== ZIP64_EOCD) throw new FvizError(`'${path}': bad zip64 end of central directory`, { subject: path });
      count = u64(eocd64, 32);
      cdSize = u64(eocd64, 40);
      cdOffset = u64(eocd64, 48);
    }
    const cd = readAt(fd, cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new FvizError(`'${path}': damaged zip central directory`, { subject: path });
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const e: ZipEntry = {
        name: cd.toString('utf8', p + 46, p + 46 + nameLength),
        method: cd.readUInt16LE(p + 10),
        crc32: cd.readUInt32LE(p + 16),
        compressedSize: cd.readUInt32LE(p + 20),
        size: cd.readUInt32LE(p + 24),
        localHeaderOffset: cd.readUInt32LE(p + 42),
      };
      // zip64 extra field: the 0xffffffff fields, in order size, compressed size, offset.
      let x = p + 46 + nameLength;
      const xEnd = x + extraLength;
      while (x + 4 <= xEnd) {
        const id = cd.readUInt16LE(x);
        const len = cd.readUInt16LE(x + 2);
        if (id === 0x0001) {
          let q = x + 4;
          if (e.size === 0xffffffff) (e.size = u64(cd, q)), (q += 8);
          if (e.compressedSize === 0xffffffff) (e.compressedSize = u64(cd, q)), (q += 8);
          if (e.localHeaderOffset === 0xffffffff) e.localHeaderOffset = u64(cd, q);
        }
        x += 4 + len;
      }
      entries.push(e);
      p = xEnd + commentLength;
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 of `data` continuing from `crc` (zlib.crc32 where Node has it). */
export function crc32(data: Uint8Array, crc = 0): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array, v: number) => number }).crc32;
  if (native) return native(data, crc);
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** Write the member `name` of the archive to `outPath`; fails naming the members when it is not there. */
export async function extractZipMember(zipPath: string, name: string, outPath: string): Promise<ZipEntry> {
  const entries = listZip(zipPath);
  const entry = entries.find((e) => e.name === name);
  if (!entry) {
    const shown = entries.map((e) => e.name).filter((n) => !n.endsWith('/')).slice(0, 12);
    throw new FvizError(`'${zipPath}' has no member '${name}' (it holds ${shown.join(', ')}${entries.length > shown.length ? ', ...' : ''})`, { subject: zipPath });
  }
  if (entry.method !== 0 && entry.method !== 8)
    throw new FvizError(`'${zipPath}': member '${name}' uses compression method ${entry.method}; only stored and deflate are supported`, { subject: zipPath });
  const fd = openSync(zipPath, 'r');
  let dataStart: number;
  try {
    const local = readAt(fd, entry.localHeaderOffset, 30);
    if (local.length < 30 || local.readUInt32LE(0) !== LOCAL) throw new FvizError(`'${zipPath}': damaged local header of '${name}'`, { subject: zipPath });
    dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    closeSync(fd);
  }
  let crc = 0;
  let bytes = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    if (entry.compressedSize === 0) writeFileSync(outPath, new Uint8Array(0));
    else {
      const source = createReadStream(zipPath, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
      if (entry.method === 8) await pipeline(source, zlib.createInflateRaw(), check, createWriteStream(outPath));
      else await pipeline(source, check, createWriteStream(outPath));
    }
  } catch (e) {
    throw new FvizError(`'${zipPath}': member '${name}' cannot be extracted: ${(e as Error).message}`, { subject: zipPath, cause: e });
  }
  if (bytes !== entry.size || crc !== entry.crc32)
    throw new FvizError(`'${zipPath}': member '${name}' is damaged (CRC or size mismatch)`, { subject: zipPath });
  return entry;
}
