// Rewrites every default-domain node of a model exported at opsets 7..26 to the semantics of
// CANONICAL_OPSET (17), so later stages see one form of each op. Conversions follow the ONNX changelog
// (and onnxruntime's reading of the old ops where the spec was loose, e.g. Upsample and Resize-10).
import { FvizError } from '../errors.ts';
import { GraphBuilder } from './builder.ts';
import type { AttrValue, DType, Dim, Graph, Model, Node, TensorData, ValueType } from './ir.ts';
import { CANONICAL_OPSET, cloneGraph, cloneModel, defaultOpset, isStaticShape, sizeOf } from './ir.ts';
import { tensor } from './tensor.ts';
import { groupNormalization } from './groupnorm.ts';
import { inferNode, symbolicValue } from './shapes.ts';
import { constantValue, evaluateNode, isFoldableOp, FOLD_MAX_ELEMENTS } from './fold.ts';
import { definedNames, topoSort } from './topo.ts';
import { SOURCE_OPSET_KEY } from './control-flow.ts';

/** Oldest default-domain opset fviz reads. */
export const MIN_OPSET = 7;
/** Newest default-domain opset onnxruntime 1.30 loads (measured: 26 loads, 27 is refused). */
export const MAX_OPSET = 26;
export const ORT_VERSION_FOR_OPSETS = '1.30';

/** Ops introduced after opset 17 that have no opset-17 form fviz can write. */
const NO_CANONICAL_FORM: Record<string, number> = {
  Col2Im: 18,
  CenterCropPad: 18,
  BitwiseAnd: 18,
  BitwiseOr: 18,
  BitwiseXor: 18,
  BitwiseNot: 18,
  DeformConv: 19,
  AffineGrid: 20,
  ImageDecoder: 20,
  RegexFullMatch: 20,
  StringConcat: 20,
  StringSplit: 20,
  Attention: 23,
  RMSNormalization: 23,
  RotaryEmbedding: 23,
  TensorScatter: 24,
  BitCast: 26,
  CumProd: 26,
};

export interface NormalizeOptions {
  /** Name of the model in error messages (usually its path). */
  source?: string;
}

/** Throws the one-line error for an opset fviz cannot read. */
export function checkOpset(model: Model, source = 'model'): number {
  const v = defaultOpset(model);
  if (v < MIN_OPSET || v > MAX_OPSET)
    throw new FvizError(
      `${source} uses opset ${v} of ai.onnx; fviz reads opsets ${MIN_OPSET}-${MAX_OPSET} (onnxruntime ${ORT_VERSION_FOR_OPSETS} runs up to ${MAX_OPSET}): re-export with opset_version=${CANONICAL_OPSET}`,
      { subject: source },
    );
  return v;
}

/** What conversions may ask about values: types and constants known so far, and how to add new ones. */
class Context {
  readonly types = new Map<string, ValueType>();
  readonly symbols = new Map<string, Dim[]>();
  readonly consts = new Map<string, TensorData>();
  readonly used = new Set<string>();

  constructor(
    readonly graph: Graph,
    readonly b: GraphBuilder,
    readonly opset: number,
    readonly source: string,
    outer?: Context,
  ) {
    // A subgraph sees the types and constants of its enclosing scopes.
    if (outer) {
      for (const [k, v] of outer.types) this.types.set(k, v);
      for (const [k, v] of outer.consts) this.consts.set(k, v);
      for (const [k, v] of outer.symbols) this.symbols.set(k, v);
    }
    for (const [k, v] of graph.valueTypes) this.types.set(k, v);
    for (const v of graph.inputs) this.types.set(v.name, { dtype: v.dtype, shape: v.shape });
    for (const [k, t] of graph.initializers) {
      this.types.set(k, { dtype: t.dtype, shape: t.dims });
      this.consts.set(k, t);
    }
    for (const n of graph.nodes) for (const i of n.inputs) if (i) this.used.add(i);
    for (const o of graph.outputs) this.used.add(o.name);
  }

  fail(node: Node, msg: string): never {
    throw new FvizError(`${this.source}: node '${node.name}' (${node.opType}, opset ${this.opset}): ${msg}`, {
      subject: node.name,
    });
  }

  dtype(name: string): DType {
    return this.types.get(name)?.dtype ?? 'float32';
  }

  rank(name: string): number | undefined {
    return this.types.get(name)?.shape.length;
  }

  shape(name: string): Dim[] | undefined {
    return this.types.get(name)?.shape;
  }

  constInts(name: string | undefined): number[] | undefined {
    if (!name) return undefined;
    const c = this.consts.get(name);
    if (!c || Array.isArray(c.data)) return undefined;
    return Array.from(c.data as ArrayLike<number | bigint>, Number);
  }

  /** A new initializer (shared when an identical small one exists), known to later conversions. */
  constant(t: TensorData, base: string): string {
    const name = this.b.constant(t, base);
    this.consts.set(name, t);
    this.types.set(name, { dtype: t.dtype, shape: t.dims });
    return name;
  }

  ints(values: number[], base: string): string {
    return this.constant(tensor('int64', [values.length], values), base);
  }

  /** A constant with the dtype of `like`. */
  scalarLike(value: number, like: string, base: string): string {
    return this.constant(tensor(this.dtype(like), [], [value]), base);
  }

  node(opType: string, inputs: string[], attrs: Record<string, AttrValue>, output: string | undefined, base: string): Node {
    return {
      name: this.b.fresh(`${base}_${opType}`),
      opType,
      domain: '',
      inputs,
      outputs: [output ?? this.b.fresh(`${base}_${opType.toLowerCase()}`)],
      attrs,
    };
  }

  /** Learn the types (and constant values) of a converted node's outputs, best effort. */
  learn(node: Node): void {
    if (node.domain !== '') return;
    const inTypes = node.inputs.map((i) => (i ? this.types.get(i) : undefined));
    const inConsts = node.inputs.map((i) => (i ? this.consts.get(i) : undefined));
    const inSyms = node.inputs.map((i) => (i ? this.symbols.get(i) : undefined));
    let out: ValueType[];
    try {
      out = inferNode(node, inTypes, inConsts, inSyms);
    } catch {
      return; // unknown here; the real inference after folding reports what matters
    }
    node.outputs.forEach((o, k) => {
      if (o) this.types.set(o, out[k]!);
    });
    const sv = symbolicValue(node, inTypes, inConsts, inSyms);
    if (sv && node.outputs[0]) this.symbols.set(node.outputs[0], sv);
    if (!isFoldableOp(node)) return;
    const allConst = node.inputs.every((i, k) => i === '' || inConsts[k]);
    const small = out.every((t) => isStaticShape(t.shape) && sizeOf(t.shape) <= FOLD_MAX_ELEMENTS);
    if (node.opType === 'Constant') {
      const v = constantValue(node);
      if (v) this.consts.set(node.outputs[0]!, v);
    } else if (node.opType === 'Shape' && inTypes[0] && isStaticShape(inTypes[0].shape)) {
      if (sv) this.consts.set(node.outputs[0]!, tensor('int64', [sv.length], sv as number[]));
    } else if (allConst && small) {
      const v = evaluateNode(node, inConsts, out);
      v?.forEach((t, k) => node.outputs[k] && this.consts.set(node.outputs[k], t));
    }
  }
}

type AttrMap = Record<string, AttrValue>;

function without(attrs: AttrMap, ...names: string[]): AttrMap {
  const out = { ...attrs };
  for (const n of names) delete out[n];
  return out;
}

function withInputs(node: Node, inputs: string[], attrs: AttrMap): Node {
  // Trailing omitted optional inputs are dropped, as exporters write them.
  const ins = [...inputs];
  while (ins.length && ins[ins.length - 1] === '') ins.pop();
  return { ...node, inputs: ins, attrs };
}

function identity(node: Node, input: string, output: string): Node {
  return { name: node.name, opType: 'Identity', domain: '', inputs: [input], outputs: [output], attrs: {} };
}

/** Outputs after the first must be unused; they are dropped. */
function onlyFirstOutput(cx: Context, node: Node, why: string): string[] {
  node.outputs.slice(1).forEach((o) => {
    if (o && cx.used.has(o)) cx.fail(node, `output '${o}' is used, but ${why}`);
  });
  return [node.outputs[0]!];
}

function softmaxFamily(cx: Context, node: Node): Node[] {
  if (cx.opset >= 13) return [node];
  const x = node.inputs[0]!;
  const axis = node.attrs['axis']?.i ?? 1;
  const shape = cx.shape(x);
  if (shape) {
    const r = shape.length;
    const a = axis < 0 ? axis + r : axis;
    if (a === r - 1 || (a >= 0 && a < r && shape.slice(a + 1).every((d) => d === 1)))
      return [{ ...node, attrs: { ...node.attrs, axis: { i: a } } }];
  }
  // Opsets < 13 coerce the input to 2-D at `axis`: Flatten, normalize the last axis, restore the shape.
  const base = node.name;
  const shapeNode = cx.node('Shape', [x], {}, undefined, base);
  const flat = cx.node('Flatten', [x], { axis: { i: axis } }, undefined, base);
  const inner = { ...node, inputs: [flat.outputs[0]!], outputs: [cx.b.fresh(`${base}_2d`)], attrs: { axis: { i: -1 } } };
  const back = cx.node('Reshape', [inner.outputs[0]!, shapeNode.outputs[0]!], {}, node.outputs[0]!, base);
  return [shapeNode, flat, inner, back];
}

function resizeFrom(cx: Context, node: Node, x: string, scales: string, mode: string): Node {
  if (mode === 'bilinear' || mode === 'trilinear') mode = 'linear';
  if (mode !== 'nearest' && mode !== 'linear') cx.fail(node, `unknown mode '${mode}'`);
  const attrs: AttrMap = { mode: { s: mode }, coordinate_transformation_mode: { s: 'asymmetric' } };
  if (mode === 'nearest') {
    // onnxruntime's opset < 11 kernel truncates when upsampling and takes the ceiling when downsampling.
    const s = cx.constInts(scales);
    const down = s ? s.some((v) => v < 1) : false;
    const up = s ? s.some((v) => v > 1) : true;
    if (down && up) cx.fail(node, `mixes upsampling and downsampling (scales [${s}]), which has no opset-17 form`);
    attrs['nearest_mode'] = { s: down ? 'ceil' : 'floor' };
  }
  return { name: node.name, opType: 'Resize', domain: '', inputs: [x, '', scales], outputs: [node.outputs[0]!], attrs };
}

function resize18(cx: Context, node: Node): Node[] {
  const a = node.attrs;
  if ((a['antialias']?.i ?? 0) !== 0) cx.fail(node, 'antialias=1 has no opset-17 form');
  const policy = a['keep_aspect_ratio_policy']?.s ?? 'stretch';
  if (policy !== 'stretch') cx.fail(node, `keep_aspect_ratio_policy '${policy}' has no opset-17 form`);
  if (a['coordinate_transformation_mode']?.s === 'half_pixel_symmetric')
    cx.fail(node, "coordinate_transformation_mode 'half_pixel_symmetric' has no opset-17 form");
  const attrs = without(a, 'antialias', 'keep_aspect_ratio_policy', 'axes');
  const axes = a['axes']?.ints;
  const inputs = [...node.inputs];
  if (axes) {
    const r = cx.rank(inputs[0]!);
    if (r === undefined) cx.fail(node, 'axes needs the input rank, which is not known');
    const norm = axes.map((x) => (x < 0 ? x + r : x));
    if (inputs[1] && cx.constInts(inputs[1])?.length) cx.fail(node, 'roi with axes has no opset-17 form here');
    const scales = cx.constInts(inputs[2]);
    const sizes = cx.constInts(inputs[3]);
    if (scales && scales.length) {
      const full = new Array<number>(r).fill(1);
      norm.forEach((ax, k) => (full[ax] = scales[k]!));
      inputs[2] = cx.constant(tensor('float32', [r], full), `${node.name}_scales`);
    } else if (sizes && sizes.length) {
      const shape = cx.shape(inputs[0]!)!;
      if (!isStaticShape(shape)) cx.fail(node, 'sizes with axes needs a static input shape');
      const full = [...shape];
      norm.forEach((ax, k) => (full[ax] = sizes[k]!));
      inputs[3] = cx.ints(full, `${node.name}_sizes`);
    } else cx.fail(node, 'axes needs constant scales or sizes');
  }
  return [withInputs(node, inputs, attrs)];
}

function pad(cx: Context, node: Node): Node[] {
  const a = node.attrs;
  const mode = a['mode']?.s ?? 'constant';
  if (mode === 'wrap') cx.fail(node, "mode 'wrap' has no opset-17 form");
  if (cx.opset < 11) {
    const pads = a['pads']?.ints ?? a['paddings']?.ints;
    if (!pads) cx.fail(node, "attribute 'pads' is required");
    const inputs = [node.inputs[0]!, cx.ints(pads, `${node.name}_pads`)];
    if (mode === 'constant') inputs.push(cx.scalarLike(a['value']?.f ?? 0, node.inputs[0]!, `${node.name}_value`));
    return [withInputs(node, inputs, { mode: { s: mode } })];
  }
  const axesName = node.inputs[3];
  if (cx.opset >= 18 && axesName) {
    const axes = cx.constInts(axesName);
    const pads = cx.constInts(node.inputs[1]);
    const r = cx.rank(node.inputs[0]!);
    if (!axes || !pads || r === undefined) cx.fail(node, 'axes needs constant axes and pads and a known input rank');
    const full = new Array<number>(2 * r).fill(0);
    axes.forEach((ax, k) => {
      const i = ax < 0 ? ax + r : ax;
      full[i] = pads[k]!;
      full[i + r] = pads[k + axes.length]!;
    });
    return [withInputs(node, [node.inputs[0]!, cx.ints(full, `${node.name}_pads`), node.inputs[2] ?? ''], a)];
  }
  return [node];
}

function reduceAxesToAttr(cx: Context, node: Node): Node[] {
  const noop = (node.attrs['noop_with_empty_axes']?.i ?? 0) !== 0;
  const attrs = without(node.attrs, 'noop_with_empty_axes');
  const axesName = node.inputs[1];
  const axes = axesName ? cx.constInts(axesName) : [];
  if (!axes) cx.fail(node, `axes '${axesName}' must be constant`);
  if (axes.length === 0 && noop) return [identity(node, node.inputs[0]!, node.outputs[0]!)];
  if (axes.length) attrs['axes'] = { ints: axes };
  return [{ ...node, inputs: [node.inputs[0]!], attrs }];
}

function split(cx: Context, node: Node): Node[] {
  if (cx.opset < 13) {
    const s = node.attrs['split']?.ints;
    const attrs = without(node.attrs, 'split');
    return [withInputs(node, [node.inputs[0]!, s ? cx.ints(s, `${node.name}_split`) : ''], attrs)];
  }
  const n = node.attrs['num_outputs']?.i;
  if (cx.opset < 18 || n === undefined) return [node];
  const attrs = without(node.attrs, 'num_outputs');
  if (n !== node.outputs.length) cx.fail(node, `num_outputs ${n} differs from its ${node.outputs.length} outputs`);
  const shape = cx.shape(node.inputs[0]!);
  const axis = node.attrs['axis']?.i ?? 0;
  const d = shape?.[axis < 0 ? axis + shape.length : axis];
  if (typeof d === 'number' && d % n !== 0) {
    // Opset 18 makes the last chunk smaller when the axis does not divide evenly.
    const chunk = Math.ceil(d / n);
    const sizes = Array.from({ length: n }, (_, k) => (k < n - 1 ? chunk : d - chunk * (n - 1)));
    return [{ ...node, inputs: [node.inputs[0]!, cx.ints(sizes, `${node.name}_split`)], attrs }];
  }
  return [{ ...node, attrs }];
}

function decompose(cx: Context, node: Node): Node[] {
  const x = node.inputs[0]!;
  const y = node.outputs[0]!;
  const base = node.name;
  const c = (v: number, tag: string) => cx.scalarLike(v, x, `${base}_${tag}`);
  const out: Node[] = [];
  const op = (type: string, inputs: string[], output?: string) => {
    const n = cx.node(type, inputs, {}, output, base);
    out.push(n);
    return n.outputs[0]!;
  };
  switch (node.opType) {
    case 'Gelu': {
      const half = op('Mul', [x, c(0.5, 'half')]);
      let t: string;
      if ((node.attrs['approximate']?.s ?? 'none') === 'tanh') {
        const x3 = op('Mul', [op('Mul', [x, x]), x]);
        const inner = op('Add', [x, op('Mul', [x3, c(0.044715, 'k')])]);
        t = op('Tanh', [op('Mul', [inner, c(Math.sqrt(2 / Math.PI), 'sqrt2pi')])]);
      } else {
        t = op('Erf', [op('Div', [x, c(Math.SQRT2, 'sqrt2')])]);
      }
      op('Mul', [half, op('Add', [t, c(1, 'one')])], y);
      return out;
    }
    case 'Mish':
      op('Mul', [x, op('Tanh', [op('Softplus', [x])])], y);
      return out;
    case 'Swish': {
      const alpha = node.attrs['alpha']?.f ?? 1;
      const z = alpha === 1 ? x : op('Mul', [x, c(alpha, 'alpha')]);
      op('Mul', [x, op('Sigmoid', [z])], y);
      return out;
    }
  }
  return [node];
}

/** The canonical (opset 17) form of one node: itself, a rewritten copy, or a few nodes. */
function convert(cx: Context, node: Node): Node[] {
  const v = cx.opset;
  const a = node.attrs;
  const since = NO_CANONICAL_FORM[node.opType];
  if (since !== undefined && v >= since)
    cx.fail(node, `op ${node.opType} (new in opset ${since}) has no opset-${CANONICAL_OPSET} form; re-export with opset_version=${CANONICAL_OPSET}`);
  switch (node.opType) {
    case 'Dropout':
      onlyFirstOutput(cx, node, 'fviz runs Dropout as inference (Identity) and has no mask');
      return [identity(node, node.inputs[0]!, node.outputs[0]!)];
    case 'BatchNormalization': {
      if ((a['spatial']?.i ?? 1) === 0) cx.fail(node, 'spatial=0 (per-activation statistics) is not supported');
      if ((a['training_mode']?.i ?? 0) !== 0) cx.fail(node, 'training_mode=1 is not supported: export the model in eval mode');
      const outputs = onlyFirstOutput(cx, node, 'fviz runs BatchNormalization in inference mode');
      return [{ ...node, outputs, attrs: without(a, 'spatial', 'is_test', 'consumed_inputs', 'training_mode') }];
    }
    case 'Slice':
      if (v >= 10) return [node];
      return [
        withInputs(
          node,
          [
            node.inputs[0]!,
            cx.ints(a['starts']?.ints ?? [], `${node.name}_starts`),
            cx.ints(a['ends']?.ints ?? [], `${node.name}_ends`),
            a['axes']?.ints ? cx.ints(a['axes'].ints, `${node.name}_axes`) : '',
          ],
          {},
        ),
      ];
    case 'Pad':
      return pad(cx, node);
    case 'Squeeze':
    case 'Unsqueeze':
      if (v >= 13) return [node];
      return [withInputs(node, [node.inputs[0]!, a['axes']?.ints ? cx.ints(a['axes'].ints, `${node.name}_axes`) : ''], without(a, 'axes'))];
    case 'ReduceSum':
      if (v >= 13) return [node];
      return [withInputs(node, [node.inputs[0]!, a['axes']?.ints ? cx.ints(a['axes'].ints, `${node.name}_axes`) : ''], without(a, 'axes'))];
    case 'ReduceMean':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL1':
    case 'ReduceL2':
    case 'ReduceLogSum':
    case 'ReduceLogSumExp':
    case 'ReduceSumSquare':
      return v >= 18 ? reduceAxesToAttr(cx, node) : [node];
    case 'Split':
      return split(cx, node);
    case 'Clip': {
      if (v >= 11) return [node];
      const x = node.inputs[0]!;
      const min = a['min']?.f;
      const max = a['max']?.f;
      return [
        withInputs(
          node,
          [
            x,
            min !== undefined ? cx.scalarLike(min, x, `${node.name}_min`) : '',
            max !== undefined ? cx.scalarLike(max, x, `${node.name}_max`) : '',
          ],
          {},
        ),
      ];
    }
    case 'TopK':
      if (v >= 10) return [node];
      return [withInputs(node, [node.inputs[0]!, cx.ints([a['k']?.i ?? 0], `${node.name}_k`)], without(a, 'k'))];
    case 'Upsample': {
      const mode = a['mode']?.s ?? 'nearest';
      if (v < 9) {
        const scales = a['scales']?.floats;
        if (!scales) cx.fail(node, "attribute 'scales' is required");
        const name = cx.constant(tensor('float32', [scales.length], scales), `${node.name}_scales`);
        return [resizeFrom(cx, node, node.inputs[0]!, name, mode)];
      }
      return [resizeFrom(cx, node, node.inputs[0]!, node.inputs[1]!, mode)];
    }
    case 'Resize':
      if (v === 10) return [resizeFrom(cx, node, node.inputs[0]!, node.inputs[1]!, a['mode']?.s ?? 'nearest')];
      return v >= 18 ? resize18(cx, node) : [node];
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax':
      return softmaxFamily(cx, node);
    case 'Scatter':
      return [{ ...node, opType: 'ScatterElements' }];
    case 'ScatterElements':
    case 'ScatterND': {
      const red = a['reduction']?.s ?? 'none';
      if (red === 'max' || red === 'min') cx.fail(node, `reduction '${red}' has no opset-17 form`);
      return [node];
    }
    case 'AveragePool':
      if (v < 19) return [node];
      if ((a['dilations']?.ints ?? []).some((d) => d !== 1)) cx.fail(node, 'dilations other than 1 have no opset-17 form');
      return [{ ...node, attrs: without(a, 'dilations') }];
    case 'LpPool':
      if (v < 18) return [node];
      if ((a['ceil_mode']?.i ?? 0) !== 0) cx.fail(node, 'ceil_mode=1 has no opset-17 form');
      return [{ ...node, attrs: without(a, 'ceil_mode') }];
    case 'Cast':
      return v >= 19 ? [{ ...node, attrs: without(a, 'saturate') }] : [node];
    case 'CastLike':
      return v >= 19 ? [{ ...node, attrs: without(a, 'saturate') }] : [node];
    case 'GridSample': {
      if (v < 20) return [node];
      const r = cx.rank(node.inputs[0]!);
      if (r !== undefined && r !== 4) cx.fail(node, `a ${r}-D input has no opset-17 form (4-D only)`);
      const mode = a['mode']?.s ?? 'linear';
      const old = mode === 'linear' ? 'bilinear' : mode === 'cubic' ? 'bicubic' : mode;
      return [{ ...node, attrs: { ...a, mode: { s: old } } }];
    }
    case 'DFT': {
      if (v < 20) return [node];
      const axisName = node.inputs[2];
      const axis = axisName ? cx.constInts(axisName) : [-2];
      if (!axis) cx.fail(node, `axis '${axisName}' must be constant`);
      if ((a['onesided']?.i ?? 0) !== 0 && (a['inverse']?.i ?? 0) !== 0)
        cx.fail(node, 'the inverse one-sided DFT has no opset-17 form');
      return [withInputs(node, [node.inputs[0]!, node.inputs[1] ?? ''], { ...a, axis: { i: axis[0]! } })];
    }
    case 'Gelu':
    case 'Mish':
    case 'Swish':
      return decompose(cx, node);
    case 'GroupNormalization':
      return groupNormalization(cx, node);
  }
  return [node];
}

function normalizeGraph(graph: Graph, opset: number, source: string, outer?: { cx: Context; names: Set<string> }): void {
  const b = new GraphBuilder(graph);
  const cx = new Context(graph, b, opset, source, outer?.cx);
  const out: Node[] = [];
  const names = new Set<string>([...(outer?.names ?? []), ...definedNames(graph)]);
  for (const node of topoSort(graph, outer?.names)) {
    if (node.domain !== '') {
      out.push(node);
      continue;
    }
    for (const [k, a] of Object.entries(node.attrs))
      if (a.g) {
        const sub = cloneGraph(a.g); // cloneModel shares subgraphs with the original
        normalizeGraph(sub, opset, source, { cx, names });
        node.attrs[k] = { g: sub };
      }
    for (const n of convert(cx, node)) {
      cx.learn(n);
      out.push(n);
    }
  }
  graph.nodes = out;
}

/**
 * A copy of `model` whose default-domain nodes have opset-17 semantics and which declares opset 17.
 * Other domains (com.microsoft, ai.onnx.ml, ...) are left as they are.
 */
export function normalizeModel(model: Model, opts: NormalizeOptions = {}): Model {
  const source = opts.source ?? 'model';
  const opset = checkOpset(model, source);
  const m = cloneModel(model);
  normalizeGraph(m.graph, opset, source);
  m.opsets = [{ domain: '', version: CANONICAL_OPSET }, ...m.opsets.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx')];
  m.irVersion = Math.max(m.irVersion, 8);
  // Kept for messages that name a node with the opset the user exported at.
  if (!(SOURCE_OPSET_KEY in m.metadata)) m.metadata[SOURCE_OPSET_KEY] = String(opset);
  return m;
}
