// Constant folding of the shape arithmetic exporters emit (Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape and friends), done in TypeScript on small tensors. Folded values become initializers named as
// the outputs they replace; dead nodes and initializers go. Shapes are inferred in the same topological
// pass, so a Shape of a value whose shape just became static folds too.
import { FvizError } from '../errors.ts';
import type { DType, Dim, Graph, Node, TensorData, TypedArray, ValueType } from './ir.ts';
import { isStaticShape, sizeOf } from './ir.ts';
import { arrayCtor } from './tensor.ts';
import { inferNode, shapeWindow, sliceRange, symbolicValue } from './shapes.ts';
import { capturedNames, topoSort } from './topo.ts';
import { controlFlowTypes, expandControlFlow, isControlFlow, NameSpace } from './control-flow.ts';

type Scalar = number | bigint;

/** Largest tensor a fold may create (elements); bigger results stay computed at run time. */
export const FOLD_MAX_ELEMENTS = 1 << 16;

const FOLDABLE = new Set([
  'Constant', 'Shape', 'Size', 'Identity', 'Cast', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Concat',
  'Gather', 'Slice', 'Transpose', 'Expand', 'Tile', 'Where', 'ConstantOfShape', 'Range', 'Add', 'Sub', 'Mul',
  'Div', 'Mod', 'Pow', 'ScatterND', 'Min', 'Max', 'Sum', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or',
  'Not', 'Neg', 'Abs', 'Floor', 'Ceil', 'Sqrt', 'ReduceProd', 'ReduceSum', 'ReduceMin', 'ReduceMax',
]);

export function isFoldableOp(node: Node): boolean {
  return node.domain === '' && FOLDABLE.has(node.opType);
}

// ------------------------------------------------------------------ small tensor helpers

function elems(t: TensorData): Scalar[] {
  if (Array.isArray(t.data)) throw new FvizError('string tensors are not folded');
  return Array.from(t.data as ArrayLike<Scalar>);
}

function is64(dtype: DType): boolean {
  return dtype === 'int64' || dtype === 'uint64';
}

/** Store values as `dtype`, converting between bigint and number as the typed array needs. */
function make(dtype: DType, dims: number[], values: Scalar[]): TensorData {
  if (dtype === 'string' || dtype === 'float16') throw new FvizError(`${dtype} tensors are not folded`);
  const data: TypedArray = new (arrayCtor(dtype))(values.length);
  if (dtype === 'int64') for (let i = 0; i < values.length; i++) (data as BigInt64Array)[i] = BigInt.asIntN(64, toBig(values[i]!));
  else if (dtype === 'uint64') for (let i = 0; i < values.length; i++) (data as BigUint64Array)[i] = BigInt.asUintN(64, toBig(values[i]!));
  else if (dtype === 'bool') for (let i = 0; i < values.length; i++) (data as Uint8Array)[i] = values[i] ? 1 : 0;
  else for (let i = 0; i < values.length; i++) (data as Float64Array)[i] = Number(values[i]!);
  return { dtype, dims: [...dims], data };
}

function toBig(v: Scalar): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isFinite(v)) throw new FvizError('cannot convert a non-finite value to an integer');
  return BigInt(Math.trunc(v));
}

function strides(dims: number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i]!;
  }
  return s;
}

/** `at(pos)` for every position `pos` of shape `shape`, in row-major order (`pos` is reused between calls). */
function mapPositions(shape: number[], at: (pos: number[]) => number): number[] {
  const n = sizeOf(shape);
  const idx = new Array<number>(n);
  const pos = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    idx[k] = at(pos);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++pos[a]! < shape[a]!) break;
      pos[a] = 0;
    }
  }
  return idx;
}

/** For each output position of a broadcast to `out`, the flat index into a tensor of shape `dims`. */
function broadcastIndex(dims: number[], out: number[]): number[] {
  const off = out.length - dims.length;
  const st = strides(dims);
  return mapPositions(out, (pos) => {
    let f = 0;
    for (let a = 0; a < dims.length; a++) if (dims[a] !== 1) f += pos[a + off]! * st[a]!;
    return f;
  });
}

function broadcastDims(shapes: number[][]): number[] {
  const r = Math.max(0, ...shapes.map((s) => s.length));
  return Array.from({ length: r }, (_, i) => {
    let d = 1;
    for (const s of shapes) {
      const e = s[i - (r - s.length)];
      if (e !== undefined && e !== 1) d = e;
    }
    return d;
  });
}

function castScalar(v: Scalar, to: DType): Scalar {
  if (to === 'bool') return v ? 1 : 0;
  if (to === 'float32' || to === 'float64') return Number(v);
  if (is64(to)) return toBig(v);
  const bits = { int8: 8, uint8: 8, int16: 16, uint16: 16, int32: 32, uint32: 32 }[to as 'int8'];
  if (!bits) throw new FvizError(`cast to ${to} is not folded`);
  const big = toBig(v);
  return Number(to.startsWith('u') ? BigInt.asUintN(bits, big) : BigInt.asIntN(bits, big));
}

type BinaryFn = (a: Scalar, b: Scalar) => Scalar;

function arith(op: string, dtype: DType, fmod = false): BinaryFn {
  const big = is64(dtype);
  const int = !(dtype === 'float32' || dtype === 'float64');
  switch (op) {
    case 'Add':
    case 'Sum':
      return big ? (a, b) => (a as bigint) + (b as bigint) : (a, b) => (a as number) + (b as number);
    case 'Sub':
      return big ? (a, b) => (a as bigint) - (b as bigint) : (a, b) => (a as number) - (b as number);
    case 'Mul':
      return big ? (a, b) => (a as bigint) * (b as bigint) : (a, b) => (a as number) * (b as number);
    case 'Div':
      if (big) return (a, b) => (a as bigint) / (b as bigint); // throws on 0: then the node stays
      return int
        ? (a, b) => {
            if (b === 0) throw new FvizError('integer division by zero');
            return Math.trunc((a as number) / (b as number));
          }
        : (a, b) => (a as number) / (b as number);
    case 'Mod':
      return modFn(big, int && !fmod);
    case 'Pow':
      return big ? (a, b) => ((b as bigint) < 0n ? 0n : (a as bigint) ** (b as bigint)) : (a, b) => Number(a) ** Number(b);
    case 'Min':
      return (a, b) => (a < b ? a : b);
    case 'Max':
      return (a, b) => (a > b ? a : b);
    case 'Equal':
      return (a, b) => (a === b ? 1 : 0);
    case 'Less':
      return (a, b) => (a < b ? 1 : 0);
    case 'Greater':
      return (a, b) => (a > b ? 1 : 0);
    case 'LessOrEqual':
      return (a, b) => (a <= b ? 1 : 0);
    case 'GreaterOrEqual':
      return (a, b) => (a >= b ? 1 : 0);
    case 'And':
      return (a, b) => (a && b ? 1 : 0);
    case 'Or':
      return (a, b) => (a || b ? 1 : 0);
  }
  throw new FvizError(`no fold for ${op}`);
}

/**
 * Mod: with `floored` (fmod=0, integers) the remainder takes the divisor's sign, as in Python; otherwise
 * (fmod=1) the dividend's, as C's fmod.
 */
function modFn(big: boolean, floored: boolean): BinaryFn {
  if (big)
    return (a, b) => {
      const r = (a as bigint) % (b as bigint); // throws on 0: then the node stays
      return floored && r !== 0n && r < 0n !== (b as bigint) < 0n ? r + (b as bigint) : r;
    };
  return (a, b) => {
    const [x, y] = [a as number, b as number];
    if (y === 0 && floored) throw new FvizError('integer modulo by zero');
    const r = x % y;
    return floored && r !== 0 && r < 0 !== y < 0 ? r + y : r;
  };
}

function unaryFn(op: string, dtype: DType): (a: Scalar) => Scalar {
  const big = is64(dtype);
  switch (op) {
    case 'Neg':
      return big ? (a) => -(a as bigint) : (a) => -(a as number);
    case 'Abs':
      return big ? (a) => ((a as bigint) < 0n ? -(a as bigint) : a) : (a) => Math.abs(a as number);
    case 'Floor':
      return (a) => Math.floor(a as number);
    case 'Ceil':
      return (a) => Math.ceil(a as number);
    case 'Sqrt':
      return (a) => Math.sqrt(a as number);
    case 'Not':
      return (a) => (a ? 0 : 1);
  }
  throw new FvizError(`no fold for ${op}`);
}

function ints(t: TensorData | undefined): number[] | undefined {
  return t ? elems(t).map(Number) : undefined;
}

function normAxis(a: number, r: number): number {
  if (!(a >= -r && a < r)) throw new FvizError(`axis ${a} out of range`);
  return a < 0 ? a + r : a;
}

function reduceTensor(op: string, x: TensorData, axes: number[] | undefined, keep: boolean, noop: boolean, out: number[]): TensorData {
  const r = x.dims.length;
  if (!axes || axes.length === 0) {
    if (noop) return x;
    axes = x.dims.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => normAxis(a, r)));
  const keptDims = x.dims.map((d, i) => (set.has(i) ? 1 : d));
  const st = strides(keptDims);
  const n = sizeOf(keptDims);
  const big = is64(x.dtype);
  const acc: Scalar[] = new Array<Scalar>(n).fill(
    op === 'ReduceProd' ? (big ? 1n : 1) : op === 'ReduceSum' ? (big ? 0n : 0) : NaN,
  );
  const seen = new Array<boolean>(n).fill(false);
  const fn: BinaryFn =
    op === 'ReduceProd' ? arith('Mul', x.dtype) : op === 'ReduceSum' ? arith('Add', x.dtype) : arith(op === 'ReduceMin' ? 'Min' : 'Max', x.dtype);
  const v = elems(x);
  const target = mapPositions(x.dims, (pos) => {
    let f = 0;
    for (let a = 0; a < r; a++) if (!set.has(a)) f += pos[a]! * st[a]!;
    return f;
  });
  for (let k = 0; k < v.length; k++) {
    const f = target[k]!;
    acc[f] = seen[f] || op === 'ReduceProd' || op === 'ReduceSum' ? fn(acc[f]!, v[k]!) : v[k]!;
    seen[f] = true;
  }
  return make(x.dtype, keep ? keptDims : out, acc);
}

/** ScatterND on constants: each index tuple of `indices` picks a slice of `data` that its update replaces (or adds to, multiplies). */
function scatterND(data: TensorData, indices: TensorData, updates: TensorData, reduction: string): TensorData {
  const out = elems(data);
  const idx = ints(indices)!;
  const upd = elems(updates);
  const k = indices.dims[indices.dims.length - 1]!;
  const st = strides(data.dims);
  const slice = sizeOf(data.dims.slice(k));
  const n = idx.length / Math.max(k, 1);
  const combine: BinaryFn | undefined = reduction === 'add' ? arith('Add', data.dtype) : reduction === 'mul' ? arith('Mul', data.dtype) : undefined;
  if (reduction !== 'none' && !combine) throw new FvizError(`ScatterND reduction '${reduction}' is not folded`);
  for (let t = 0; t < n; t++) {
    let base = 0;
    for (let j = 0; j < k; j++) {
      const d = data.dims[j]!;
      const raw = idx[t * k + j]!;
      const i = raw < 0 ? raw + d : raw;
      if (!(i >= 0 && i < d)) throw new FvizError(`ScatterND index ${raw} out of range`);
      base += i * st[j]!;
    }
    for (let e = 0; e < slice; e++) out[base + e] = combine ? combine(out[base + e]!, upd[t * slice + e]!) : upd[t * slice + e]!;
  }
  return make(data.dtype, data.dims, out);
}

/** The tensor a Constant node holds. */
export function constantValue(node: Node): TensorData | undefined {
  const a = node.attrs;
  if (a['value']?.t) return a['value'].t;
  if (a['value_float']?.f !== undefined) return make('float32', [], [a['value_float'].f]);
  if (a['value_floats']?.floats) return make('float32', [a['value_floats'].floats.length], a['value_floats'].floats);
  if (a['value_int']?.i !== undefined) return make('int64', [], [a['value_int'].i]);
  if (a['value_ints']?.ints) return make('int64', [a['value_ints'].ints.length], a['value_ints'].ints);
  if (a['value_string']?.s !== undefined) return { dtype: 'string', dims: [], data: [a['value_string'].s] };
  if (a['value_strings']?.strings) return { dtype: 'string', dims: [a['value_strings'].strings.length], data: [...a['value_strings'].strings] };
  return undefined;
}

/**
 * Evaluate a foldable node on constant inputs; `outTypes` are its inferred (static) output types.
 * Returns undefined when the node cannot be folded (an op or dtype this evaluator leaves to onnxruntime).
 */
export function evaluateNode(node: Node, inputs: (TensorData | undefined)[], outTypes: ValueType[]): TensorData[] | undefined {
  if (!isFoldableOp(node)) return undefined;
  if (outTypes.some((t) => !isStaticShape(t.shape))) return undefined;
  if ([...inputs, ...outTypes].some((t) => t && (t.dtype === 'float16' || t.dtype === 'string')))
    return node.opType === 'Constant' ? [constantValue(node)!] : undefined;
  const out = outTypes[0]!;
  const dims = out.shape as number[];
  const x = inputs[0];
  const attrInt = (name: string, d: number) => node.attrs[name]?.i ?? d;
  try {
    switch (node.opType) {
      case 'Constant': {
        const v = constantValue(node);
        return v ? [v] : undefined;
      }
      case 'Identity':
      case 'Reshape':
      case 'Flatten':
      case 'Squeeze':
      case 'Unsqueeze':
        return [{ dtype: x!.dtype, dims, data: x!.data }];
      case 'Cast':
        return [make(out.dtype, dims, elems(x!).map((v) => castScalar(v, out.dtype)))];
      case 'Concat': {
        const parts = inputs.filter((t): t is TensorData => !!t);
        const axis = normAxis(attrInt('axis', 0), dims.length);
        const outer = sizeOf(dims.slice(0, axis));
        const vals: Scalar[] = [];
        const pv = parts.map(elems);
        for (let o = 0; o < outer; o++)
          parts.forEach((p, k) => {
            const chunk = sizeOf(p.dims.slice(axis));
            for (let j = 0; j < chunk; j++) vals.push(pv[k]![o * chunk + j]!);
          });
        return [make(out.dtype, dims, vals)];
      }
      case 'Gather': {
        const axis = normAxis(attrInt('axis', 0), x!.dims.length);
        const v = elems(x!);
        const idx = ints(inputs[1])!;
        const outer = sizeOf(x!.dims.slice(0, axis));
        const d = x!.dims[axis]!;
        const inner = sizeOf(x!.dims.slice(axis + 1));
        const vals: Scalar[] = [];
        for (let o = 0; o < outer; o++)
          for (const raw of idx) {
            const i = raw < 0 ? raw + d : raw;
            if (!(i >= 0 && i < d)) throw new FvizError(`gather index ${raw} out of range`);
            for (let j = 0; j < inner; j++) vals.push(v[(o * d + i) * inner + j]!);
          }
        return [make(x!.dtype, dims, vals)];
      }
      case 'Slice': {
        const r = x!.dims.length;
        const starts = ints(inputs[1])!;
        const ends = ints(inputs[2])!;
        const axes = (ints(inputs[3]) ?? starts.map((_, i) => i)).map((a) => normAxis(a, r));
        const steps = ints(inputs[4]) ?? starts.map(() => 1);
        const begin = x!.dims.map(() => 0);
        const step = x!.dims.map(() => 1);
        axes.forEach((a, k) => {
          begin[a] = sliceRange(starts[k]!, ends[k]!, steps[k]!, x!.dims[a]!)[0];
          step[a] = steps[k]!;
        });
        const st = strides(x!.dims);
        const v = elems(x!);
        const src = mapPositions(dims, (pos) => {
          let f = 0;
          for (let a = 0; a < r; a++) f += (begin[a]! + pos[a]! * step[a]!) * st[a]!;
          return f;
        });
        return [make(x!.dtype, dims, src.map((f) => v[f]!))];
      }
      case 'Transpose': {
        const r = x!.dims.length;
        const perm = node.attrs['perm']?.ints ?? x!.dims.map((_, i) => r - 1 - i);
        const st = strides(x!.dims);
        const v = elems(x!);
        const src = mapPositions(dims, (pos) => {
          let f = 0;
          for (let a = 0; a < r; a++) f += pos[a]! * st[perm[a]!]!;
          return f;
        });
        return [make(x!.dtype, dims, src.map((f) => v[f]!))];
      }
      case 'Expand': {
        const v = elems(x!);
        return [make(x!.dtype, dims, broadcastIndex(x!.dims, dims).map((i) => v[i]!))];
      }
      case 'Tile': {
        const v = elems(x!);
        const st = strides(x!.dims);
        const src = mapPositions(dims, (pos) => {
          let f = 0;
          for (let a = 0; a < dims.length; a++) f += (pos[a]! % x!.dims[a]!) * st[a]!;
          return f;
        });
        return [make(x!.dtype, dims, src.map((f) => v[f]!))];
      }
      case 'Where': {
        const [c, a, b] = inputs as TensorData[];
        const [ci, ai, bi] = [c!, a!, b!].map((t) => broadcastIndex(t.dims, dims));
        const [cv, av, bv] = [c!, a!, b!].map(elems);
        return [make(out.dtype, dims, ci!.map((_, k) => (cv![ci![k]!] ? av![ai![k]!]! : bv![bi![k]!]!)))];
      }
      case 'ConstantOfShape': {
        const value = node.attrs['value']?.t;
        const fill = value ? elems(value)[0]! : 0;
        return [make(out.dtype, dims, new Array<Scalar>(sizeOf(dims)).fill(fill))];
      }
      case 'Range': {
        const [s, , d] = inputs.map((t) => elems(t!)[0]!);
        const n = dims[0]!;
        const vals: Scalar[] = [];
        for (let i = 0; i < n; i++)
          vals.push(typeof s === 'bigint' ? s + BigInt(i) * (d as bigint) : (s as number) + i * (d as number));
        return [make(out.dtype, dims, vals)];
      }
      case 'ScatterND':
        return [scatterND(x!, inputs[1]!, inputs[2]!, node.attrs['reduction']?.s ?? 'none')];
      case 'Shape':
      case 'Size':
        return undefined; // folded from types, not values (see foldConstants)
      case 'Neg':
      case 'Abs':
      case 'Floor':
      case 'Ceil':
      case 'Sqrt':
      case 'Not': {
        const fn = unaryFn(node.opType, x!.dtype);
        return [make(out.dtype, dims, elems(x!).map(fn))];
      }
      case 'ReduceProd':
      case 'ReduceMin':
      case 'ReduceMax':
        return [reduceTensor(node.opType, x!, node.attrs['axes']?.ints, attrInt('keepdims', 1) !== 0, false, dims)];
      case 'ReduceSum':
        return [
          reduceTensor(node.opType, x!, ints(inputs[1]), attrInt('keepdims', 1) !== 0, attrInt('noop_with_empty_axes', 0) !== 0, dims),
        ];
      default: {
        // Broadcasting binary and variadic ops.
        const present = inputs.filter((t): t is TensorData => !!t);
        const fn = arith(node.opType, present[0]!.dtype, attrInt('fmod', 0) !== 0);
        let acc = present[0]!;
        for (const t of present.slice(1)) {
          const od = broadcastDims([acc.dims, t.dims]);
          const [ia, ib] = [broadcastIndex(acc.dims, od), broadcastIndex(t.dims, od)];
          const [va, vb] = [elems(acc), elems(t)];
          const vals = ia.map((i, k) => fn(va[i]!, vb[ib[k]!]!));
          const dtype = ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'And', 'Or'].includes(node.opType)
            ? 'bool'
            : acc.dtype;
          acc = make(dtype, od, vals);
        }
        if (acc.dtype !== out.dtype || sizeOf(acc.dims) !== sizeOf(dims)) return undefined;
        return [{ ...acc, dims }];
      }
    }
  } catch {
    return undefined; // anything odd (division by zero, bad index): leave the node to onnxruntime
  }
}

// ------------------------------------------------------------------ the pass

export interface FoldOptions {
  /** Largest result to fold (elements). */
  maxElements?: number;
  /** See InferOptions.lenient: nodes without a shape rule stay untyped instead of throwing. */
  lenient?: boolean;
}

export interface FoldResult {
  /** Nodes replaced by initializers. */
  folded: number;
  /** Dead nodes removed. */
  removed: number;
  /** Nodes left untyped (lenient mode only). */
  untyped: Node[];
}

/**
 * Fold constants and infer shapes in one topological pass, then drop dead nodes and initializers.
 * Nodes that produce graph outputs are kept, so every graph output stays a node output or input.
 */
export function foldConstants(graph: Graph, opts: FoldOptions = {}): FoldResult {
  const limit = opts.maxElements ?? FOLD_MAX_ELEMENTS;
  const types = graph.valueTypes;
  for (const v of graph.inputs) types.set(v.name, { dtype: v.dtype, shape: [...v.shape] });
  for (const [k, t] of graph.initializers) types.set(k, { dtype: t.dtype, shape: [...t.dims] });
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const symbols = new Map<string, Dim[]>();
  const gone = new Set<Node>();
  const untyped: Node[] = [];
  graph.nodes = topoSort(graph);
  const nodes = graph.nodes;
  let names: NameSpace | undefined;
  for (let at = 0; at < nodes.length; at++) {
    const node = nodes[at]!;
    if (isControlFlow(node)) {
      const spliced = expandControlFlow(node, graph.initializers, (names ??= new NameSpace(graph)));
      if (spliced) {
        // The body's nodes take the If/Loop's place and are folded in turn.
        for (const [k, t] of spliced.initializers) {
          graph.initializers.set(k, t);
          types.set(k, { dtype: t.dtype, shape: [...t.dims] });
        }
        nodes.splice(at, 1, ...spliced.nodes);
        at--;
        continue;
      }
    }
    const inTypes = node.inputs.map((i) => (i ? types.get(i) : undefined));
    const inConsts = node.inputs.map((i) => (i ? graph.initializers.get(i) : undefined));
    const inSyms = node.inputs.map((i) => (i ? symbols.get(i) : undefined));
    let outTypes: ValueType[];
    try {
      outTypes = isControlFlow(node) ? controlFlowTypes(node, types, graph.initializers) : inferNode(node, inTypes, inConsts, inSyms);
    } catch (e) {
      if (!opts.lenient || !(e instanceof FvizError)) throw e;
      untyped.push(node);
      continue;
    }
    node.outputs.forEach((o, k) => {
      if (o) types.set(o, outTypes[k]!);
    });
    const sv = symbolicValue(node, inTypes, inConsts, inSyms);
    if (sv && node.outputs[0]) symbols.set(node.outputs[0], sv);

    if (!isFoldableOp(node) || node.outputs.some((o) => outputs.has(o))) continue;
    let values: TensorData[] | undefined;
    if ((node.opType === 'Shape' || node.opType === 'Size') && inTypes[0] && isStaticShape(inTypes[0].shape)) {
      const s = inTypes[0].shape;
      const [a, b] = shapeWindow(node, s.length);
      values = [node.opType === 'Shape' ? make('int64', [b - a], s.slice(a, b)) : make('int64', [], [sizeOf(s)])];
    } else if (node.opType === 'Constant') {
      values = evaluateNode(node, [], outTypes);
    } else {
      const allConst = node.inputs.every((i, k) => i === '' || inConsts[k] !== undefined);
      const small = outTypes.every((t) => isStaticShape(t.shape) && sizeOf(t.shape) <= limit);
      if (allConst && small && node.inputs.some((i) => i !== '')) values = evaluateNode(node, inConsts, outTypes);
    }
    if (!values) continue;
    node.outputs.forEach((o, k) => {
      const v = values[k]!;
      graph.initializers.set(o, v);
      types.set(o, { dtype: v.dtype, shape: [...v.dims] });
    });
    gone.add(node);
  }
  const before = graph.nodes.length;
  graph.nodes = graph.nodes.filter((n) => !gone.has(n));
  const removed = removeDeadCode(graph);
  return { folded: before - graph.nodes.length - removed, removed, untyped };
}

/** Remove nodes nothing reads (transitively from the graph outputs), unused initializers and stale types. */
export function removeDeadCode(graph: Graph): number {
  const live = new Set(graph.outputs.map((o) => o.name));
  const keep = new Set<Node>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (!n.outputs.some((o) => o && live.has(o))) continue;
    keep.add(n);
    for (const r of n.inputs) if (r) live.add(r);
    for (const a of Object.values(n.attrs)) if (a.g) for (const r of capturedNames(a.g)) live.add(r);
  }
  // Nodes arrive in topological order here, so one backward sweep finds every live node.
  const removed = graph.nodes.length - keep.size;
  graph.nodes = graph.nodes.filter((n) => keep.has(n));
  for (const k of [...graph.initializers.keys()]) if (!live.has(k)) graph.initializers.delete(k);
  const named = new Set<string>([...graph.inputs.map((v) => v.name), ...graph.initializers.keys(), ...live]);
  for (const n of graph.nodes) for (const o of n.outputs) if (o) named.add(o);
  for (const k of [...graph.valueTypes.keys()]) if (!named.has(k)) graph.valueTypes.delete(k);
  return removed;
}
