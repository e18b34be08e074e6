// The in-memory graph IR every module works on: a model is a graph of nodes over named values,
// with initializers as typed tensors and (after inference) a static type for every value.

export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'bool'
  | 'string';

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A dense tensor. Same field names and dtype strings as onnxruntime's Tensor. */
export interface TensorData {
  dtype: DType;
  dims: number[];
  data: TypedArray | string[];
}

/** A dimension is a number, or a symbol (a name such as 'batch') until it is fixed. */
export type Dim = number | string;

export interface ValueType {
  dtype: DType;
  shape: Dim[];
}

export interface ValueInfo extends ValueType {
  name: string;
}

/** Exactly one field is set, as in AttributeProto. */
export interface AttrValue {
  i?: number;
  f?: number;
  s?: string;
  t?: TensorData;
  g?: Graph;
  ints?: number[];
  floats?: number[];
  strings?: string[];
}

export interface Node {
  name: string;
  opType: string;
  /** '' is the default ONNX domain (ai.onnx). */
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface Graph {
  name: string;
  nodes: Node[];
  /** Graph inputs that are not initializers. */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, TensorData>;
  /** Types known for values: inputs, outputs and intermediates (filled by shape inference). */
  valueTypes: Map<string, ValueType>;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  graph: Graph;
  opsets: OpsetImport[];
  irVersion: number;
  producerName: string;
  producerVersion: string;
  metadata: Record<string, string>;
}

/** The opset of the default domain that the IR is normalized to and every emitted graph declares. */
export const CANONICAL_OPSET = 17;

export function defaultOpset(model: Model): number {
  const imp = model.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  return imp ? imp.version : 1;
}

export const attr = {
  i: (i: number): AttrValue => ({ i }),
  f: (f: number): AttrValue => ({ f }),
  s: (s: string): AttrValue => ({ s }),
  t: (t: TensorData): AttrValue => ({ t }),
  ints: (ints: number[]): AttrValue => ({ ints }),
  floats: (floats: number[]): AttrValue => ({ floats }),
  strings: (strings: string[]): AttrValue => ({ strings }),
};

export function getInt(node: Node, name: string, dflt: number): number;
export function getInt(node: Node, name: string): number | undefined;
export function getInt(node: Node, name: string, dflt?: number): number | undefined {
  const a = node.attrs[name];
  return a?.i ?? dflt;
}

export function getFloat(node: Node, name: string, dflt: number): number;
export function getFloat(node: Node, name: string): number | undefined;
export function getFloat(node: Node, name: string, dflt?: number): number | undefined {
  const a = node.attrs[name];
  return a?.f ?? dflt;
}

export function getString(node: Node, name: string, dflt: string): string;
export function getString(node: Node, name: string): string | undefined;
export function getString(node: Node, name: string, dflt?: string): string | undefined {
  const a = node.attrs[name];
  return a?.s ?? dflt;
}

export function getInts(node: Node, name: string, dflt: number[]): number[];
export function getInts(node: Node, name: string): number[] | undefined;
export function getInts(node: Node, name: string, dflt?: number[]): number[] | undefined {
  const a = node.attrs[name];
  return a?.ints ?? dflt;
}

export function getFloats(node: Node, name: string): number[] | undefined {
  return node.attrs[name]?.floats;
}

export function emptyGraph(name = 'graph'): Graph {
  return { name, nodes: [], inputs: [], outputs: [], initializers: new Map(), valueTypes: new Map() };
}

export function emptyModel(graph: Graph, opset = CANONICAL_OPSET): Model {
  return {
    graph,
    opsets: [{ domain: '', version: opset }],
    irVersion: 8,
    producerName: 'fviz',
    producerVersion: '0.1.0',
    metadata: {},
  };
}

export function cloneGraph(g: Graph): Graph {
  return {
    name: g.name,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    inputs: g.inputs.map((v) => ({ ...v, shape: [...v.shape] })),
    outputs: g.outputs.map((v) => ({ ...v, shape: [...v.shape] })),
    initializers: new Map(g.initializers),
    valueTypes: new Map([...g.valueTypes].map(([k, v]) => [k, { dtype: v.dtype, shape: [...v.shape] }])),
  };
}

export function cloneModel(m: Model): Model {
  return { ...m, graph: cloneGraph(m.graph), opsets: m.opsets.map((o) => ({ ...o })), metadata: { ...m.metadata } };
}

/** Map from value name to the node producing it. */
export function producers(g: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** Map from value name to the nodes consuming it. */
export function consumers(g: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of g.nodes)
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  return m;
}

export function isStaticShape(shape: Dim[]): shape is number[] {
  return shape.every((d) => typeof d === 'number' && d >= 0);
}

export function sizeOf(shape: readonly number[]): number {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
}
