// .npy read/write (format 1.0/2.0/3.0, little-endian float32, float64, int64, int32, uint8, bool) for exchanging arrays with Python.
import { readFileSync } from 'node:fs';
import { FvizError } from '../errors.ts';
import type { DType, TensorData } from '../onnx/ir.ts';
import { sizeOf } from '../onnx/ir.ts';
import { arrayCtor } from '../onnx/tensor.ts';
import { writeAtomic } from '../onnx/proto.ts';

const DESCR: Partial<Record<DType, string>> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  bool: '|b1',
};
const DTYPE_OF_DESCR: Record<string, DType> = Object.fromEntries(Object.entries(DESCR).map(([k, v]) => [v, k as DType]));

export function encodeNpy(t: TensorData): Uint8Array {
  const descr = DESCR[t.dtype];
  if (!descr || Array.isArray(t.data)) throw new FvizError(`.npy writing does not support dtype ${t.dtype}`);
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const d = t.data;
  const body = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

export function decodeNpy(bytes: Uint8Array, source = 'array'): TensorData {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new FvizError(`${source} is not a .npy file (bad magic): save it with numpy.save`);
  const major = buf[6]!;
  let hlen: number;
  let off: number;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    off = 10;
  } else if (major === 2 || major === 3) {
    hlen = buf.readUInt32LE(8);
    off = 12;
  } else throw new FvizError(`${source}: unsupported .npy version ${major}`);
  const header = buf.toString('latin1', off, off + hlen);
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new FvizError(`${source}: malformed .npy header`);
  if (fortran === 'True') throw new FvizError(`${source}: Fortran-ordered arrays are not supported: save np.ascontiguousarray(x)`);
  const dtype = DTYPE_OF_DESCR[descr === '<b1' ? '|b1' : descr === '<u1' ? '|u1' : descr];
  if (!dtype) throw new FvizError(`${source}: .npy dtype '${descr}' is not supported (use float32, float64, int64, int32, uint8 or bool)`);
  const dims = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new FvizError(`${source}: bad shape (${shapeText})`);
  const Ctor = arrayCtor(dtype);
  const start = off + hlen;
  const n = sizeOf(dims);
  if (buf.length - start < n * Ctor.BYTES_PER_ELEMENT)
    throw new FvizError(`${source} is truncated: shape (${dims}) needs ${n * Ctor.BYTES_PER_ELEMENT} bytes of data, has ${buf.length - start}`);
  const data = new Ctor(n);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + n * Ctor.BYTES_PER_ELEMENT));
  return { dtype, dims, data };
}

export function readNpy(path: string): TensorData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new FvizError(`array file '${path}' cannot be read: check the path`, { subject: path });
  }
  return decodeNpy(bytes, path);
}

export function writeNpy(path: string, t: TensorData): void {
  writeAtomic(path, encodeNpy(t));
}
