// Creating, reading and converting TensorData.
import { FvizError } from '../errors.ts';
import type { DType, TensorData, TypedArray } from './ir.ts';
import { sizeOf } from './ir.ts';

type TypedArrayCtor = { new (n: number): TypedArray; BYTES_PER_ELEMENT: number };

const CTORS: Partial<Record<DType, TypedArrayCtor>> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export function arrayCtor(dtype: DType): TypedArrayCtor {
  const c = CTORS[dtype];
  if (!c) throw new FvizError(`tensor dtype ${dtype} has no typed array`);
  return c;
}

export function bytesPerElement(dtype: DType): number {
  return arrayCtor(dtype).BYTES_PER_ELEMENT;
}

export function zeros(dtype: DType, dims: number[]): TensorData {
  return { dtype, dims: [...dims], data: new (arrayCtor(dtype))(sizeOf(dims)) };
}

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** A tensor from plain numbers, converting to bigint for 64-bit integer types. */
export function tensor(dtype: DType, dims: number[], values: ArrayLike<number> | number[]): TensorData {
  const n = sizeOf(dims);
  if (values.length !== n) throw new FvizError(`tensor of shape [${dims}] needs ${n} values, got ${values.length}`);
  const data = new (arrayCtor(dtype))(n);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) data[i] = BigInt(Math.trunc(values[i]!));
  } else {
    for (let i = 0; i < n; i++) (data as Float32Array)[i] = values[i]!;
  }
  return { dtype, dims: [...dims], data };
}

export const f32 = (dims: number[], values: ArrayLike<number>) => tensor('float32', dims, values);
export const i64 = (dims: number[], values: ArrayLike<number>) => tensor('int64', dims, values);
export const scalarF32 = (v: number) => tensor('float32', [], [v]);
export const vecI64 = (values: number[]) => tensor('int64', [values.length], values);

/** The values of a numeric tensor as JS numbers. */
export function toNumbers(t: TensorData): number[] {
  const d = t.data;
  if (Array.isArray(d)) throw new FvizError('string tensor has no numeric values');
  const out = new Array<number>(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

/** Float64 copy of a numeric tensor's data. */
export function toFloat64(t: TensorData): Float64Array {
  const d = t.data;
  if (d instanceof Float64Array) return d.slice();
  const out = new Float64Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
  return out;
}

export function castTensor(t: TensorData, dtype: DType): TensorData {
  if (t.dtype === dtype) return t;
  if (dtype === 'string' || t.dtype === 'string') throw new FvizError(`cannot cast ${t.dtype} to ${dtype}`);
  const src = toNumbers(t);
  if (dtype === 'bool') return tensor(dtype, t.dims, src.map((v) => (v ? 1 : 0)));
  if (!isFloat(dtype)) return tensor(dtype, t.dims, src.map((v) => Math.trunc(v)));
  return tensor(dtype, t.dims, src);
}

export function numel(t: TensorData): number {
  return sizeOf(t.dims);
}
