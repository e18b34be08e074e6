// ModelProto <-> IR. Reads .onnx bytes or files (external data beside them included) and writes them back.
import { existsSync, readFileSync, writeFileSync, renameSync, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { basename, dirname, join, resolve, isAbsolute } from 'node:path';
import onnxProto from 'onnx-proto';
import { FvizError } from '../errors.ts';
import type { AttrValue, DType, Graph, Model, Node, TensorData, ValueInfo, ValueType, Dim } from './ir.ts';
import { sizeOf } from './ir.ts';
import { arrayCtor, bytesPerElement } from './tensor.ts';
import { inlineFunctions, type FunctionDef } from './functions.ts';

const onnx = onnxProto.onnx;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type IGraphProto = onnxProto.onnx.IGraphProto;
type INodeProto = onnxProto.onnx.INodeProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IFunctionProto = onnxProto.onnx.IFunctionProto;

const DTYPE_OF_CODE: Record<number, DType> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
};
const CODE_OF_DTYPE = Object.fromEntries(Object.entries(DTYPE_OF_CODE).map(([k, v]) => [v, Number(k)])) as Record<
  DType,
  number
>;

export function dtypeFromCode(code: number, where: string): DType {
  const d = DTYPE_OF_CODE[code];
  if (!d) throw new FvizError(`${where}: unsupported tensor element type ${code}`);
  return d;
}

export function dtypeCode(d: DType): number {
  return CODE_OF_DTYPE[d];
}

function num(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/** Largest tensor we agree to allocate from a file: guards against corrupt dims. */
const MAX_ELEMENTS = 2 ** 31;

export interface ReadOptions {
  /** Folder that external-data locations are relative to. */
  baseDir?: string;
  /** Name used in error messages. */
  source?: string;
}

function tensorFromProto(t: ITensorProto, opts: ReadOptions, where: string): TensorData {
  const name = t.name ?? '';
  const label = `${where}: tensor '${name}'`;
  const dtype = dtypeFromCode(t.dataType ?? 0, label);
  const dims = (t.dims ?? []).map(num);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new FvizError(`${label} has invalid dims [${dims}]`);
  const n = sizeOf(dims);
  if (n > MAX_ELEMENTS) throw new FvizError(`${label} is too large (${n} elements)`);
  if (dtype === 'string') {
    const s = (t.stringData ?? []).map((b) => Buffer.from(b).toString('utf8'));
    if (s.length !== n) throw new FvizError(`${label} has ${s.length} strings for shape [${dims}]`);
    return { dtype, dims, data: s };
  }
  const Ctor = arrayCtor(dtype);
  const bpe = Ctor.BYTES_PER_ELEMENT;
  let raw: Uint8Array | undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    raw = readExternal(t, n * bpe, opts, label);
  } else if (t.rawData && t.rawData.length > 0) {
    raw = t.rawData;
  }
  // Every size check comes before the allocation, so corrupt dims cannot make us allocate gigabytes.
  if (raw) {
    if (raw.length !== n * bpe)
      throw new FvizError(`${label} has ${raw.length} bytes of data for shape [${dims}] (${n * bpe} expected)`);
    const data = new Ctor(n);
    new Uint8Array(data.buffer).set(raw);
    return { dtype, dims, data };
  }
  let src: ArrayLike<number | { toNumber(): number }> = [];
  switch (dtype) {
    case 'float32':
      src = t.floatData ?? [];
      break;
    case 'float64':
      src = t.doubleData ?? [];
      break;
    case 'int64':
      src = t.int64Data ?? [];
      break;
    case 'uint64':
    case 'uint32':
      src = t.uint64Data ?? [];
      break;
    default:
      src = t.int32Data ?? [];
  }
  if (src.length !== n) throw new FvizError(`${label} has ${src.length} values for shape [${dims}] (${n} expected)`);
  const data = new Ctor(n);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) {
      const v = src[i]!;
      data[i] = typeof v === 'number' ? BigInt(v) : BigInt(v.toString());
    }
  } else {
    for (let i = 0; i < n; i++) (data as Float32Array)[i] = num(src[i]);
  }
  return { dtype, dims, data };
}

function readExternal(t: ITensorProto, nbytes: number, opts: ReadOptions, label: string): Uint8Array {
  const kv = Object.fromEntries((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv['location'];
  if (!location) throw new FvizError(`${label} is stored externally but names no location`);
  if (!opts.baseDir)
    throw new FvizError(`${label} is stored in external file '${location}': load the model from its path, not bytes`);
  if (isAbsolute(location) || location.split(/[\\/]/).includes('..'))
    throw new FvizError(`${label}: external data location '${location}' must be a file beside the model`);
  const file = join(opts.baseDir, location);
  if (!existsSync(file))
    throw new FvizError(
      `${opts.source ?? 'model'}: external data file '${location}' for tensor '${t.name}' is missing: put it in ${opts.baseDir}`,
      { subject: file },
    );
  const offset = kv['offset'] ? Number(kv['offset']) : 0;
  const length = kv['length'] ? Number(kv['length']) : nbytes;
  if (length !== nbytes)
    throw new FvizError(`${label}: external data length ${length} does not match its shape (${nbytes} bytes)`);
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (offset + length > size)
      throw new FvizError(`${label}: external data file '${location}' is too short (${size} bytes, needs ${offset + length})`);
    const buf = new Uint8Array(length);
    let read = 0;
    while (read < length) {
      const r = readSync(fd, buf, read, length - read, offset + read);
      if (r <= 0) break;
      read += r;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

function valueInfoFromProto(v: IValueInfoProto, where: string): ValueInfo {
  const name = v.name ?? '';
  const tt = v.type?.tensorType;
  if (!tt) return { name, dtype: 'float32', shape: [] };
  const dtype = dtypeFromCode(tt.elemType ?? 1, `${where}: value '${name}'`);
  const shape: Dim[] = (tt.shape?.dim ?? []).map((d, i) => {
    const which = (d as { value?: string }).value;
    if (which === 'dimValue') return num(d.dimValue);
    if (which === 'dimParam' && d.dimParam) return d.dimParam;
    if (d.dimParam) return d.dimParam;
    return `${name}_dim${i}`;
  });
  return { name, dtype, shape };
}

function attrFromProto(a: IAttributeProto, opts: ReadOptions, where: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return { f: a.f ?? 0 };
    case T.INT:
      return { i: num(a.i) };
    case T.STRING:
      return { s: Buffer.from(a.s ?? new Uint8Array()).toString('utf8') };
    case T.TENSOR:
      return { t: tensorFromProto(a.t ?? {}, opts, where) };
    case T.GRAPH:
      return { g: graphFromProto(a.g ?? {}, opts) };
    case T.FLOATS:
      return { floats: [...(a.floats ?? [])] };
    case T.INTS:
      return { ints: (a.ints ?? []).map(num) };
    case T.STRINGS:
      return { strings: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    default: {
      // Files written without the type field (old exporters): infer from what is set.
      if (a.ints && a.ints.length) return { ints: a.ints.map(num) };
      if (a.floats && a.floats.length) return { floats: [...a.floats] };
      if (a.t) return { t: tensorFromProto(a.t, opts, where) };
      if (a.s && a.s.length) return { s: Buffer.from(a.s).toString('utf8') };
      if (a.i !== undefined && a.i !== null && num(a.i) !== 0) return { i: num(a.i) };
      if (a.f !== undefined && a.f !== null && a.f !== 0) return { f: a.f };
      throw new FvizError(`${where}: attribute '${a.name}' has unsupported type ${a.type}`);
    }
  }
}

function graphFromProto(g: IGraphProto, opts: ReadOptions): Graph {
  const src = opts.source ?? 'model';
  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', tensorFromProto(t, opts, src));
  const valueTypes = new Map<string, ValueType>();
  const inputs: ValueInfo[] = [];
  for (const v of g.input ?? []) {
    const vi = valueInfoFromProto(v, src);
    if (initializers.has(vi.name)) continue; // IR < 4 lists initializers as inputs too
    inputs.push(vi);
    valueTypes.set(vi.name, { dtype: vi.dtype, shape: vi.shape });
  }
  const outputs = (g.output ?? []).map((v) => valueInfoFromProto(v, src));
  for (const v of g.valueInfo ?? []) {
    const vi = valueInfoFromProto(v, src);
    if (vi.shape.length || v.type?.tensorType?.shape) valueTypes.set(vi.name, { dtype: vi.dtype, shape: vi.shape });
  }
  const nodes: Node[] = (g.node ?? []).map((n: INodeProto, idx) => nodeFromProto(n, idx, opts, src));
  return { name: g.name ?? 'graph', nodes, inputs, outputs, initializers, valueTypes };
}

/** A node; in a function body (`refs` given), attributes that name a caller's attribute go to `refs`. */
function nodeFromProto(n: INodeProto, idx: number, opts: ReadOptions, src: string, refs?: Record<string, string>): Node {
  const where = `${src}: node '${n.name || idx}' (${n.opType})`;
  const attrs: Record<string, AttrValue> = {};
  for (const a of n.attribute ?? []) {
    if (refs && a.refAttrName) refs[a.name ?? ''] = a.refAttrName;
    else attrs[a.name ?? ''] = attrFromProto(a, opts, where);
  }
  return {
    name: n.name || `${n.opType}_${idx}`,
    opType: n.opType ?? '',
    domain: n.domain === 'ai.onnx' ? '' : (n.domain ?? ''),
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs,
  };
}

function functionFromProto(f: IFunctionProto, opts: ReadOptions): FunctionDef {
  const src = `${opts.source ?? 'model'}: function ${f.domain ?? ''}.${f.name ?? ''}`;
  return {
    domain: f.domain === 'ai.onnx' ? '' : (f.domain ?? ''),
    name: f.name ?? '',
    inputs: [...(f.input ?? [])],
    outputs: [...(f.output ?? [])],
    attributes: [...(f.attribute ?? [])],
    nodes: (f.node ?? []).map((n, idx) => {
      const refs: Record<string, string> = {};
      return { ...nodeFromProto(n, idx, opts, src, refs), refs };
    }),
  };
}

/** Decode ModelProto bytes into the IR. Throws FvizError with one line on anything malformed. */
export function decodeModel(bytes: Uint8Array, opts: ReadOptions = {}): Model {
  const src = opts.source ?? 'model';
  let mp: onnxProto.onnx.ModelProto;
  try {
    mp = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new FvizError(`${src} is not a valid ONNX model: protobuf decoding failed (${why})`, { subject: src, cause: e });
  }
  if (!mp.graph || ((mp.graph.node ?? []).length === 0 && (mp.graph.output ?? []).length === 0))
    throw new FvizError(`${src} is not an ONNX model: it has no graph`, { subject: src });
  let graph: Graph;
  try {
    graph = graphFromProto(mp.graph, opts);
  } catch (e) {
    if (e instanceof FvizError) throw e;
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new FvizError(`${src} is not a valid ONNX model: ${why}`, { subject: src, cause: e });
  }
  let opsets = (mp.opsetImport ?? []).map((o) => ({
    domain: o.domain === 'ai.onnx' ? '' : (o.domain ?? ''),
    version: num(o.version),
  }));
  if ((mp.functions ?? []).length) {
    let functions: FunctionDef[];
    try {
      functions = (mp.functions ?? []).map((f) => functionFromProto(f, opts));
    } catch (e) {
      if (e instanceof FvizError) throw e;
      throw new FvizError(`${src} is not a valid ONNX model: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, { subject: src, cause: e });
    }
    inlineFunctions(graph, functions, src);
    // The functions' own domains name nothing once their calls are inlined.
    const used = new Set(graph.nodes.map((n) => n.domain));
    const fnDomains = new Set(functions.map((f) => f.domain));
    opsets = opsets.filter((o) => !fnDomains.has(o.domain) || used.has(o.domain));
  }
  if (opsets.length === 0) opsets.push({ domain: '', version: 1 });
  const metadata: Record<string, string> = {};
  for (const p of mp.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return {
    graph,
    opsets,
    irVersion: num(mp.irVersion),
    producerName: mp.producerName ?? '',
    producerVersion: mp.producerVersion ?? '',
    metadata,
  };
}

/** Read a model from a path (external data resolved beside it). */
export function readModel(path: string): Model {
  if (!existsSync(path)) throw new FvizError(`model file '${path}' does not exist`, { subject: path });
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new FvizError(`model file '${path}' cannot be read: ${(e as Error).message}`, { subject: path });
  }
  if (bytes.length === 0) throw new FvizError(`model file '${path}' is empty`, { subject: path });
  return decodeModel(bytes, { baseDir: dirname(resolve(path)), source: path });
}

// ---------------------------------------------------------------- writing

function tensorToProto(name: string, t: TensorData, external?: ExternalWriter): ITensorProto {
  const p: ITensorProto = { name, dims: t.dims, dataType: dtypeCode(t.dtype) };
  if (t.dtype === 'string') {
    p.stringData = (t.data as string[]).map((s) => Buffer.from(s, 'utf8'));
    return p;
  }
  const d = t.data as Exclude<TensorData['data'], string[]>;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (external && bytes.length >= external.threshold) {
    p.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    p.externalData = external.add(bytes);
  } else {
    p.rawData = bytes;
  }
  return p;
}

function valueInfoToProto(v: ValueInfo): IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: dtypeCode(v.dtype),
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attrToProto(name: string, a: AttrValue, external?: ExternalWriter): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (a.i !== undefined) return { name, type: T.INT, i: a.i };
  if (a.f !== undefined) return { name, type: T.FLOAT, f: a.f };
  if (a.s !== undefined) return { name, type: T.STRING, s: Buffer.from(a.s, 'utf8') };
  if (a.t !== undefined) return { name, type: T.TENSOR, t: tensorToProto('', a.t, external) };
  if (a.g !== undefined) return { name, type: T.GRAPH, g: graphToProto(a.g, external) };
  if (a.ints !== undefined) return { name, type: T.INTS, ints: a.ints };
  if (a.floats !== undefined) return { name, type: T.FLOATS, floats: a.floats };
  if (a.strings !== undefined) return { name, type: T.STRINGS, strings: a.strings.map((s) => Buffer.from(s, 'utf8')) };
  throw new FvizError(`attribute '${name}' has no value`);
}

function graphToProto(g: Graph, external?: ExternalWriter): IGraphProto {
  const outputNames = new Set(g.outputs.map((o) => o.name));
  const inputNames = new Set(g.inputs.map((o) => o.name));
  const valueInfo: ValueInfo[] = [];
  for (const [name, vt] of g.valueTypes)
    if (!outputNames.has(name) && !inputNames.has(name) && !g.initializers.has(name)) valueInfo.push({ name, ...vt });
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      name: n.name,
      opType: n.opType,
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs).map(([k, v]) => attrToProto(k, v, external)),
    })),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
    initializer: [...g.initializers].map(([k, v]) => tensorToProto(k, v, external)),
    valueInfo: valueInfo.map(valueInfoToProto),
  };
}

interface ExternalWriter {
  threshold: number;
  add(bytes: Uint8Array): { key: string; value: string }[];
}

function modelToProto(m: Model, external?: ExternalWriter): onnxProto.onnx.IModelProto {
  return {
    irVersion: m.irVersion || 8,
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    opsetImport: m.opsets.map((o) => ({ domain: o.domain, version: o.version })),
    metadataProps: Object.entries(m.metadata).map(([key, value]) => ({ key, value })),
    graph: graphToProto(m.graph, external),
  };
}

/** Encode the model as ModelProto bytes (all data inline). */
export function encodeModel(m: Model): Uint8Array {
  return onnx.ModelProto.encode(modelToProto(m)).finish();
}

export interface SaveOptions {
  /** Store tensors of at least this many bytes in `<file>.data` beside the model. */
  externalDataThreshold?: number;
}

/** Write a model to a path atomically (temp file + rename); optionally with external data. */
export function saveModel(m: Model, path: string, opts: SaveOptions = {}): void {
  let external: ExternalWriter | undefined;
  const chunks: Uint8Array[] = [];
  const dataName = `${basename(path)}.data`;
  if (opts.externalDataThreshold !== undefined) {
    let offset = 0;
    external = {
      threshold: opts.externalDataThreshold,
      add(bytes) {
        const pad = (64 - (offset % 64)) % 64; // aligned, as onnx does for mmap
        if (pad) chunks.push(new Uint8Array(pad));
        offset += pad;
        chunks.push(bytes.slice());
        const entry = [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(bytes.length) },
        ];
        offset += bytes.length;
        return entry;
      },
    };
  }
  const bytes = onnx.ModelProto.encode(modelToProto(m, external)).finish();
  if (external && chunks.length) {
    const dataPath = join(dirname(path), dataName);
    writeAtomic(dataPath, Buffer.concat(chunks));
  }
  writeAtomic(path, bytes);
}

export function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

export { bytesPerElement };
