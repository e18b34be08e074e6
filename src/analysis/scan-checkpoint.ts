// The scan's running state on disk, written atomically (temp file + rename) so a kill at any moment leaves
// either the previous checkpoint or the new one. Layout: 'FVZSCAN1' | u32 LE header length | JSON header |
// pad to 8 | each array's bytes (in header order, each padded to 8).
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

const MAGIC = 'FVZSCAN1';

type ArrayKind = 'float32' | 'float64' | 'int32' | 'uint32';
type AnyArray = Float32Array | Float64Array | Int32Array | Uint32Array;

const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint32: Uint32Array } as const;

function kindOf(a: AnyArray): ArrayKind {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'uint32';
}

export interface CheckpointHeader {
  /** What the state belongs to: a different key means the state is of another scan. */
  key: string;
  /** Next source image to decode. */
  next: number;
  /** Images in the state. */
  n: number;
  batches: number;
  /** Whether the scan had finished. */
  done: boolean;
  skipped: { file: string; error: string }[];
  /** Scan time spent before this checkpoint (for rates across resumes). */
  elapsedMs: number;
}

interface StoredHeader extends CheckpointHeader {
  arrays: { name: string; kind: ArrayKind; length: number }[];
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

export function writeCheckpoint(path: string, header: CheckpointHeader, arrays: Record<string, AnyArray>): void {
  const names = Object.keys(arrays).sort();
  const stored: StoredHeader = { ...header, arrays: names.map((name) => ({ name, kind: kindOf(arrays[name]!), length: arrays[name]!.length })) };
  const json = Buffer.from(JSON.stringify(stored), 'utf8');
  const head = Buffer.alloc(12);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const write = (b: Uint8Array) => {
      let off = 0;
      while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    };
    write(head);
    write(json);
    write(new Uint8Array(pad8(12 + json.length)));
    for (const name of names) {
      const a = arrays[name]!;
      write(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      write(new Uint8Array(pad8(a.byteLength)));
    }
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The checkpoint at `path`, or undefined when there is none or it cannot be read (a torn or foreign file). */
export function readCheckpoint(path: string): { header: CheckpointHeader; arrays: Record<string, AnyArray> } | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const buf = readFileSync(path);
    if (buf.toString('latin1', 0, 8) !== MAGIC) return undefined;
    const len = buf.readUInt32LE(8);
    const h = JSON.parse(buf.toString('utf8', 12, 12 + len)) as StoredHeader;
    let off = 12 + len + pad8(12 + len);
    const arrays: Record<string, AnyArray> = {};
    for (const { name, kind, length } of h.arrays) {
      const Ctor = CTORS[kind];
      const bytes = length * Ctor.BYTES_PER_ELEMENT;
      if (off + bytes > buf.length) return undefined;
      // Copy out: the file buffer's offset need not be aligned for the element size.
      arrays[name] = new Ctor(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + bytes));
      off += bytes + pad8(bytes);
    }
    const { arrays: _list, ...header } = h;
    return { header, arrays };
  } catch {
    return undefined;
  }
}
