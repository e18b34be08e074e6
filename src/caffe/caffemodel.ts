// Reading and writing .caffemodel files (binary NetParameter): layer names, types and weight blobs, in the
// current `layer` (V2) encoding or the legacy `layers` (V1) one. Small fields go through the protobufjs
// schema; blob data is copied as raw little-endian bytes so a 250 MB model never becomes a JS number array.
import { readFileSync, existsSync } from 'node:fs';
import { endianness } from 'node:os';
import protobuf from 'protobufjs';
import { FvizError } from '../errors.ts';
import type { TensorData } from '../onnx/ir.ts';
import { sizeOf } from '../onnx/ir.ts';
import { caffeSchema, FIELD, V1_TYPE_TO_V2, V2_TYPE_TO_V1, v1TypeName } from './schema.ts';

/** A layer as a caffemodel stores it. Blobs are float32 tensors in Caffe's own layouts. */
export interface CaffeLayerRecord {
  name: string;
  /** V2 type string ('Convolution'); V1 enums are mapped to it. */
  type: string;
  bottom: string[];
  top: string[];
  blobs: TensorData[];
}

export interface CaffeNetRecord {
  name: string;
  /** Which encoding held the layers. */
  format: 'v2' | 'v1';
  layers: CaffeLayerRecord[];
}

const LITTLE_ENDIAN = endianness() === 'LE';

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

interface Split {
  /** The message's other fields, re-concatenated, for the schema decoder. */
  rest: Uint8Array;
  /** Length-delimited payloads (or fixed-width values) of the bulk fields, in order, with their wire type. */
  bulk: Map<number, { wire: number; bytes: Uint8Array }[]>;
}

/** Walk one message's fields; bulk fields are cut out, the rest kept byte for byte. */
function splitFields(buf: Uint8Array, bulkFields: ReadonlySet<number>): Split {
  const r = protobuf.Reader.create(buf);
  const keep: Uint8Array[] = [];
  const bulk = new Map<number, { wire: number; bytes: Uint8Array }[]>();
  while (r.pos < r.len) {
    const start = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (bulkFields.has(field)) {
      let bytes: Uint8Array;
      if (wire === 2) {
        const len = r.uint32();
        if (r.pos + len > r.len) throw new RangeError(`field ${field} runs past the end of its message`);
        bytes = buf.subarray(r.pos, r.pos + len);
        r.pos += len;
      } else {
        const from = r.pos;
        r.skipType(wire);
        bytes = buf.subarray(from, r.pos);
      }
      let list = bulk.get(field);
      if (!list) bulk.set(field, (list = []));
      list.push({ wire, bytes });
    } else {
      r.skipType(wire);
      keep.push(buf.subarray(start, r.pos));
    }
  }
  return { rest: keep.length === 1 ? keep[0]! : Buffer.concat(keep), bulk };
}

function floatsFromBytes(bytes: Uint8Array, width: 4 | 8): Float32Array {
  const n = Math.floor(bytes.length / width);
  if (n * width !== bytes.length) throw new RangeError(`packed data of ${bytes.length} bytes is not a multiple of ${width}`);
  const out = new Float32Array(n);
  if (width === 4 && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = width === 4 ? dv.getFloat32(i * 4, true) : dv.getFloat64(i * 8, true);
  return out;
}

function concatFloats(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Values of a repeated float/double field, packed (wire 2) or one per entry (wire 5 / 1). */
function bulkValues(entries: { wire: number; bytes: Uint8Array }[] | undefined, width: 4 | 8): Float32Array {
  if (!entries || entries.length === 0) return new Float32Array(0);
  return concatFloats(
    entries.map((e) => {
      if (e.wire === 2 || (width === 4 && e.wire === 5) || (width === 8 && e.wire === 1)) return floatsFromBytes(e.bytes, width);
      throw new RangeError(`blob data has wire type ${e.wire}`);
    }),
  );
}

function decodeBlob(bytes: Uint8Array, where: string): TensorData {
  const { rest, bulk } = splitFields(bytes, new Set([FIELD.blobData, FIELD.blobDiff, FIELD.blobDoubleData, FIELD.blobDoubleDiff]));
  const head = caffeSchema.BlobProto.toObject(caffeSchema.BlobProto.decode(rest), { longs: Number }) as {
    shape?: { dim?: number[] };
    num?: number;
    channels?: number;
    height?: number;
    width?: number;
  };
  let data = bulkValues(bulk.get(FIELD.blobData), 4);
  if (data.length === 0) data = bulkValues(bulk.get(FIELD.blobDoubleData), 8);
  let dims: number[];
  if (head.shape) dims = (head.shape.dim ?? []).map(toNumber);
  else if (head.num || head.channels || head.height || head.width)
    dims = [head.num ?? 0, head.channels ?? 0, head.height ?? 0, head.width ?? 0].map(toNumber);
  else dims = [data.length];
  if (sizeOf(dims) !== data.length)
    throw new FvizError(`${where} has ${data.length} values for its shape [${dims.join(', ')}] (${sizeOf(dims)} expected)`);
  return { dtype: 'float32', dims, data };
}

function decodeLayer(bytes: Uint8Array, v1: boolean, index: number, source: string): CaffeLayerRecord {
  const blobField = v1 ? FIELD.layerBlobsV1 : FIELD.layerBlobs;
  const { rest, bulk } = splitFields(bytes, new Set([blobField]));
  const Type = v1 ? caffeSchema.V1LayerParameter : caffeSchema.LayerParameter;
  const msg = Type.toObject(Type.decode(rest), { enums: Number, longs: Number, defaults: false }) as {
    name?: string;
    type?: string | number;
    bottom?: string[];
    top?: string[];
  };
  const name = msg.name ?? `#${index}`;
  let type: string;
  if (v1) {
    const enumName = typeof msg.type === 'number' ? v1TypeName(msg.type) : undefined;
    type = enumName ? (V1_TYPE_TO_V2[enumName] ?? enumName) : `V1 type ${String(msg.type ?? 'NONE')}`;
  } else type = String(msg.type ?? '');
  const blobs = (bulk.get(blobField) ?? []).map((b, k) => decodeBlob(b.bytes, `${source}: layer '${name}' blob ${k}`));
  return { name, type, bottom: msg.bottom ?? [], top: msg.top ?? [], blobs };
}

/** Decode caffemodel bytes. Throws FvizError naming `source` on anything malformed. */
export function decodeCaffemodel(bytes: Uint8Array, source = 'caffemodel'): CaffeNetRecord {
  try {
    const { rest, bulk } = splitFields(bytes, new Set([FIELD.netLayer, FIELD.netLayersV1]));
    const head = caffeSchema.NetParameter.toObject(caffeSchema.NetParameter.decode(rest)) as { name?: string };
    const v2 = bulk.get(FIELD.netLayer) ?? [];
    const v1 = bulk.get(FIELD.netLayersV1) ?? [];
    const layers = [
      ...v2.map((l, i) => decodeLayer(l.bytes, false, i, source)),
      ...v1.map((l, i) => decodeLayer(l.bytes, true, i, source)),
    ];
    if (layers.length === 0)
      throw new FvizError(`${source} is not a Caffe model: it has no layers (is it a .prototxt or another format?)`, { subject: source });
    return { name: head.name ?? '', format: v2.length >= v1.length ? 'v2' : 'v1', layers };
  } catch (e) {
    if (e instanceof FvizError) throw e;
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new FvizError(`${source} is not a valid Caffe model: protobuf decoding failed (${why})`, { subject: source, cause: e });
  }
}

export function readCaffemodel(path: string): CaffeNetRecord {
  if (!existsSync(path)) throw new FvizError(`weights file '${path}' does not exist`, { subject: path });
  return decodeCaffemodel(readFileSync(path), path);
}

// ------------------------------------------------------------------ writing

export interface EncodeOptions {
  /** 'v2' writes `layer` (field 100) with blob shapes; 'v1' writes legacy `layers` (field 2) with 4-D num/channels/height/width. */
  format?: 'v2' | 'v1';
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array[] {
  const head = protobuf.Writer.create().uint32((field << 3) | 2).uint32(payload.length).finish();
  return [head, payload];
}

function blobBytes(t: TensorData, legacy: boolean, where: string): Uint8Array[] {
  if (t.dtype !== 'float32' || !(t.data instanceof Float32Array)) throw new FvizError(`${where}: blobs must be float32`);
  if (sizeOf(t.dims) !== t.data.length) throw new FvizError(`${where}: ${t.data.length} values for shape [${t.dims}]`);
  let head: protobuf.Message;
  if (legacy) {
    if (t.dims.length > 4) throw new FvizError(`${where}: a V1 blob has at most 4 dimensions`);
    const d = [...Array(4 - t.dims.length).fill(1), ...t.dims] as number[];
    head = caffeSchema.BlobProto.fromObject({ num: d[0], channels: d[1], height: d[2], width: d[3] });
  } else head = caffeSchema.BlobProto.fromObject({ shape: { dim: t.dims } });
  const headBytes = caffeSchema.BlobProto.encode(head).finish();
  let raw: Uint8Array;
  if (LITTLE_ENDIAN) raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  else {
    raw = new Uint8Array(t.data.length * 4);
    const dv = new DataView(raw.buffer);
    t.data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  }
  const dataField = lengthDelimited(FIELD.blobData, raw);
  const size = headBytes.length + dataField[0]!.length + raw.length;
  const outer = protobuf.Writer.create().uint32(size).finish();
  return [outer, headBytes, ...dataField];
}

/** Encode layers with their blobs as a caffemodel (what Caffe's Net::ToProto writes, minus layer params). */
export function encodeCaffemodel(
  net: { name?: string; layers: Array<Pick<CaffeLayerRecord, 'name' | 'type' | 'blobs'> & Partial<CaffeLayerRecord>> },
  opts: EncodeOptions = {},
): Uint8Array {
  const v1 = opts.format === 'v1';
  const chunks: Uint8Array[] = [];
  chunks.push(caffeSchema.NetParameter.encode(caffeSchema.NetParameter.fromObject({ name: net.name ?? '' })).finish());
  for (const layer of net.layers) {
    const where = `layer '${layer.name}'`;
    let head: Uint8Array;
    if (v1) {
      const enumName = V2_TYPE_TO_V1[layer.type];
      if (!enumName) throw new FvizError(`${where}: type '${layer.type}' has no V1 encoding`);
      head = caffeSchema.V1LayerParameter.encode(
        caffeSchema.V1LayerParameter.fromObject({ name: layer.name, type: enumName, bottom: layer.bottom ?? [], top: layer.top ?? [] }),
      ).finish();
    } else {
      head = caffeSchema.LayerParameter.encode(
        caffeSchema.LayerParameter.fromObject({ name: layer.name, type: layer.type, bottom: layer.bottom ?? [], top: layer.top ?? [] }),
      ).finish();
    }
    const blobChunks: Uint8Array[] = [];
    const blobTag = protobuf.Writer.create().uint32(((v1 ? FIELD.layerBlobsV1 : FIELD.layerBlobs) << 3) | 2).finish();
    layer.blobs.forEach((b, k) => blobChunks.push(blobTag, ...blobBytes(b, v1, `${where} blob ${k}`)));
    const size = head.length + blobChunks.reduce((s, c) => s + c.length, 0);
    chunks.push(protobuf.Writer.create().uint32(((v1 ? FIELD.netLayersV1 : FIELD.netLayer) << 3) | 2).uint32(size).finish());
    chunks.push(head, ...blobChunks);
  }
  return Buffer.concat(chunks);
}
