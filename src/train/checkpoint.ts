// Checkpoints: named float32 tensors (weights, optimizer state, running statistics) plus a JSON header
// (position in training, options, history), one file written atomically (temp file + rename).
// Layout: 'FVZCKPT1' | u32 LE header length | JSON | pad to 8 | tensors back to back (float32 LE).
import { existsSync, readFileSync } from 'node:fs';
import { FvizError } from '../errors.ts';
import { writeAtomic } from '../onnx/proto.ts';

const MAGIC = 'FVZCKPT1';

export interface CheckpointFile<M> {
  meta: M;
  tensors: Map<string, Float32Array>;
}

interface Header<M> {
  meta: M;
  tensors: { name: string; length: number }[];
}

export function writeCheckpoint<M>(path: string, meta: M, tensors: Map<string, Float32Array>): void {
  const header: Header<M> = { meta, tensors: [...tensors].map(([name, t]) => ({ name, length: t.length })) };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((12 + json.length) % 8)) % 8;
  const total = 12 + json.length + pad + [...tensors.values()].reduce((s, t) => s + t.byteLength, 0);
  const buf = Buffer.alloc(total);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(json.length, 8);
  json.copy(buf, 12);
  let off = 12 + json.length + pad;
  for (const t of tensors.values()) {
    buf.set(new Uint8Array(t.buffer, t.byteOffset, t.byteLength), off);
    off += t.byteLength;
  }
  writeAtomic(path, buf);
}

export function readCheckpoint<M>(path: string): CheckpointFile<M> {
  if (!existsSync(path)) throw new FvizError(`checkpoint '${path}' does not exist`, { subject: path });
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new FvizError(`'${path}' is not an fviz checkpoint`, { subject: path });
  const len = buf.readUInt32LE(8);
  const header = JSON.parse(buf.toString('utf8', 12, 12 + len)) as Header<M>;
  let off = 12 + len + ((8 - ((12 + len) % 8)) % 8);
  const tensors = new Map<string, Float32Array>();
  for (const { name, length } of header.tensors) {
    if (off + 4 * length > buf.length) throw new FvizError(`checkpoint '${path}' is truncated`, { subject: path });
    // Copy out: the file buffer may not be 4-byte aligned for a view.
    tensors.set(name, new Float32Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + 4 * length)));
    off += 4 * length;
  }
  return { meta: header.meta, tensors };
}
