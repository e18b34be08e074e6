// Static shape and dtype inference over the canonical (opset 17) IR: one rule per op, symbolic dims
// (strings) carried through where the arithmetic allows, and the values of small int64 shape tensors
// tracked symbolically so that PyTorch's Shape -> Gather -> Concat -> Reshape chains keep their meaning
// before the batch size is fixed.
import { FvizError } from '../errors.ts';
import type { DType, Dim, Graph, Node, TensorData, ValueType } from './ir.ts';
import { CANONICAL_OPSET } from './ir.ts';
import { dtypeFromCode } from './proto.ts';
import { topoSort } from './topo.ts';

/** What a rule sees: the node, its input types and constant inputs, and symbolic values of shape tensors. */
class RuleContext {
  constructor(
    readonly node: Node,
    readonly types: (ValueType | undefined)[],
    readonly consts: (TensorData | undefined)[],
    readonly symbols: (Dim[] | undefined)[],
  ) {}

  fail(msg: string): never {
    throw new FvizError(`node '${this.node.name}' (${this.node.opType}): ${msg}`, { subject: this.node.name });
  }

  has(i: number): boolean {
    return (this.node.inputs[i] ?? '') !== '';
  }

  /** Type of input i; throws if the input is absent or its type unknown. */
  type(i: number): ValueType {
    if (!this.has(i)) this.fail(`input ${i} is required`);
    const t = this.types[i];
    if (!t) this.fail(`the type of input '${this.node.inputs[i]}' is not known`);
    return t;
  }

  shape(i: number): Dim[] {
    return this.type(i).shape;
  }

  rank(i: number): number {
    return this.type(i).shape.length;
  }

  dtype(i: number): DType {
    return this.type(i).dtype;
  }

  /** Integer values of a constant input, or undefined when not constant. */
  ints(i: number): number[] | undefined {
    if (!this.has(i)) return undefined;
    const c = this.consts[i];
    if (!c) return undefined;
    if (Array.isArray(c.data)) this.fail(`input '${this.node.inputs[i]}' must be numeric`);
    return Array.from(c.data as ArrayLike<number | bigint>, (v) => Number(v));
  }

  floats(i: number): number[] | undefined {
    return this.ints(i);
  }

  /** A 1-D shape-like input as dims: constant values, or symbolic values tracked through shape arithmetic. */
  dimsArg(i: number): Dim[] | undefined {
    const c = this.ints(i);
    if (c) return c;
    return this.has(i) ? this.symbols[i] : undefined;
  }

  /** Length of a 1-D input (how many entries a shape tensor holds), when static. */
  length1D(i: number): number | undefined {
    const t = this.types[i];
    if (!t || t.shape.length !== 1) return undefined;
    const d = t.shape[0];
    return typeof d === 'number' ? d : undefined;
  }

  attrInt(name: string, dflt: number): number {
    const a = this.node.attrs[name];
    if (a === undefined) return dflt;
    if (a.i === undefined) this.fail(`attribute '${name}' must be an int`);
    return a.i;
  }

  attrInts(name: string): number[] | undefined {
    const a = this.node.attrs[name];
    if (a === undefined) return undefined;
    if (a.ints === undefined) this.fail(`attribute '${name}' must be a list of ints`);
    return a.ints;
  }

  attrString(name: string, dflt: string): string {
    const a = this.node.attrs[name];
    if (a === undefined) return dflt;
    if (a.s === undefined) this.fail(`attribute '${name}' must be a string`);
    return a.s;
  }

  /** Normalize an axis in [-rank, rank) to [0, rank). */
  axis(axis: number, rank: number, what = 'axis'): number {
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank)
      this.fail(`${what} ${axis} is out of range for rank ${rank}`);
    return axis < 0 ? axis + rank : axis;
  }

  /** A fresh symbolic dim for output k, axis i. */
  sym(k: number, i: number): string {
    return `?${this.node.outputs[k] || this.node.name}#${i}`;
  }
}

type Rule = (c: RuleContext) => (ValueType | undefined)[];

/** True for dims made up by inference (unknown values), as opposed to named symbols from the file. */
export function isUnknownDim(d: Dim): boolean {
  return typeof d === 'string' && d.startsWith('?');
}

// ------------------------------------------------------------------ dim arithmetic

function product(dims: Dim[], fresh: () => string): Dim {
  let n = 1;
  const syms: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else syms.push(d);
  }
  if (syms.length === 0) return n;
  if (n === 0) return 0;
  if (syms.length === 1 && n === 1) return syms[0]!;
  return fresh();
}

function broadcast(c: RuleContext, shapes: Dim[][]): Dim[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s[i - (rank - s.length)];
      if (e === undefined || e === 1) continue;
      if (d === 1) d = e;
      else if (typeof d === 'number' && typeof e === 'number') {
        if (d !== e) c.fail(`cannot broadcast shapes ${shapes.map((x) => `[${x}]`).join(' and ')}`);
      } else if (typeof d === 'string' && typeof e === 'number') d = e; // the symbol must equal it
    }
    out.push(d);
  }
  return out;
}

function same(c: RuleContext): ValueType[] {
  const t = c.type(0);
  return [{ dtype: t.dtype, shape: [...t.shape] }];
}

function withDtype(c: RuleContext, dtype: DType): ValueType[] {
  return [{ dtype, shape: [...c.shape(0)] }];
}

function elementwise(c: RuleContext, dtype?: DType): ValueType[] {
  const shapes: Dim[][] = [];
  for (let i = 0; i < c.node.inputs.length; i++) if (c.has(i)) shapes.push(c.shape(i));
  if (shapes.length === 0) c.fail('needs at least one input');
  const firstPresent = c.node.inputs.findIndex((n) => n !== '');
  return [{ dtype: dtype ?? c.dtype(firstPresent), shape: broadcast(c, shapes) }];
}

// ------------------------------------------------------------------ convolution and pooling

interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
}

function windowAttrs(c: RuleContext, spatial: number, kernel: number[]): Window {
  const strides = c.attrInts('strides') ?? kernel.map(() => 1);
  const dilations = c.attrInts('dilations') ?? kernel.map(() => 1);
  const pads = c.attrInts('pads') ?? new Array<number>(2 * spatial).fill(0);
  const autoPad = c.attrString('auto_pad', 'NOTSET');
  if (kernel.length !== spatial) c.fail(`kernel_shape [${kernel}] does not match ${spatial} spatial dims`);
  if (strides.length !== spatial || strides.some((s) => !(s >= 1))) c.fail(`invalid strides [${strides}]`);
  if (dilations.length !== spatial || dilations.some((s) => !(s >= 1))) c.fail(`invalid dilations [${dilations}]`);
  if (pads.length !== 2 * spatial || pads.some((p) => !(p >= 0))) c.fail(`invalid pads [${pads}]`);
  if (kernel.some((k) => !(k >= 1))) c.fail(`invalid kernel_shape [${kernel}]`);
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) c.fail(`unknown auto_pad '${autoPad}'`);
  return { kernel, strides, dilations, pads, autoPad };
}

/** Output spatial sizes of a convolution or pooling window (ceil_mode as onnxruntime computes it). */
function windowOutput(c: RuleContext, inSp: Dim[], w: Window, ceilMode: boolean): Dim[] {
  return inSp.map((d, i) => {
    if (typeof d !== 'number') return c.sym(0, i + 2);
    const s = w.strides[i]!;
    const eff = (w.kernel[i]! - 1) * w.dilations[i]! + 1;
    if (w.autoPad === 'SAME_UPPER' || w.autoPad === 'SAME_LOWER') return Math.ceil(d / s);
    const pb = w.autoPad === 'VALID' ? 0 : w.pads[i]!;
    const pe = w.autoPad === 'VALID' ? 0 : w.pads[i + inSp.length]!;
    const span = d + pb + pe - eff;
    if (span < 0) c.fail(`window of ${eff} does not fit input size ${d} (+${pb + pe} padding) on spatial axis ${i}`);
    if (!ceilMode) return Math.floor(span / s) + 1;
    let out = Math.ceil(span / s) + 1;
    if ((out - 1) * s >= d + pb) out -= 1; // the last window must start inside the input or left padding
    return out;
  });
}

/** What Conv and ConvTranspose share: input and weight types checked for rank, the window, the group. */
function convCommon(c: RuleContext) {
  const x = c.type(0);
  const w = c.shape(1);
  const spatial = x.shape.length - 2;
  if (spatial < 1) c.fail(`input must have rank >= 3, got [${x.shape}]`);
  if (w.length !== x.shape.length) c.fail(`weight [${w}] and input [${x.shape}] differ in rank`);
  const kernel = c.attrInts('kernel_shape') ?? w.slice(2).map((d) => (typeof d === 'number' ? d : NaN));
  return { x, w, spatial, win: windowAttrs(c, spatial, kernel), group: c.attrInt('group', 1) };
}

const conv: Rule = (c: RuleContext) => {
  const { x, w, win, group } = convCommon(c);
  const cin = x.shape[1]!;
  const wc = w[1]!;
  if (typeof cin === 'number' && typeof wc === 'number' && cin !== wc * group)
    c.fail(`input has ${cin} channels but weight expects ${wc} x group ${group}`);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, w[0]!, ...windowOutput(c, x.shape.slice(2), win, false)] }];
};

const convTranspose: Rule = (c: RuleContext) => {
  const { x, w, spatial, win, group } = convCommon(c);
  const outPad = c.attrInts('output_padding') ?? new Array<number>(spatial).fill(0);
  const outShape = c.attrInts('output_shape');
  const m = w[1]!;
  const channels: Dim = typeof m === 'number' ? m * group : c.sym(0, 1);
  let sp: Dim[];
  if (outShape) {
    if (outShape.length < spatial) c.fail(`output_shape [${outShape}] has fewer than ${spatial} dims`);
    sp = outShape.slice(outShape.length - spatial);
  } else {
    sp = x.shape.slice(2).map((d, i) => {
      if (typeof d !== 'number') return c.sym(0, i + 2);
      const s = win.strides[i]!;
      if (win.autoPad === 'SAME_UPPER' || win.autoPad === 'SAME_LOWER') return d * s;
      const eff = (win.kernel[i]! - 1) * win.dilations[i]! + 1;
      const pads = win.autoPad === 'VALID' ? 0 : win.pads[i]! + win.pads[i + spatial]!;
      const out = s * (d - 1) + (outPad[i] ?? 0) + eff - pads;
      if (out < 1) c.fail(`output size ${out} on spatial axis ${i} is not positive`);
      return out;
    });
  }
  return [{ dtype: x.dtype, shape: [x.shape[0]!, channels, ...sp] }];
};

function pool(c: RuleContext, indices: boolean): (ValueType | undefined)[] {
  const x = c.type(0);
  const spatial = x.shape.length - 2;
  if (spatial < 1) c.fail(`input must have rank >= 3, got [${x.shape}]`);
  const kernel = c.attrInts('kernel_shape');
  if (!kernel) c.fail('attribute kernel_shape is required');
  const win = windowAttrs(c, spatial, kernel);
  const shape = [x.shape[0]!, x.shape[1]!, ...windowOutput(c, x.shape.slice(2), win, c.attrInt('ceil_mode', 0) !== 0)];
  const out: ValueType[] = [{ dtype: x.dtype, shape }];
  if (indices && c.node.outputs.length > 1) out.push({ dtype: 'int64', shape: [...shape] });
  return out;
}

const globalPool: Rule = (c: RuleContext) => {
  const x = c.type(0);
  if (x.shape.length < 3) c.fail(`input must have rank >= 3, got [${x.shape}]`);
  return [{ dtype: x.dtype, shape: [x.shape[0]!, x.shape[1]!, ...x.shape.slice(2).map(() => 1)] }];
};

// ------------------------------------------------------------------ linear algebra

const gemm: Rule = (c: RuleContext) => {
  const a = c.shape(0);
  const b = c.shape(1);
  if (a.length !== 2 || b.length !== 2) c.fail(`inputs must be 2-D, got [${a}] and [${b}]`);
  const [m, ka] = c.attrInt('transA', 0) ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [kb, n] = c.attrInt('transB', 0) ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb)
    c.fail(`inner dimensions differ: A gives ${ka}, B gives ${kb}`);
  if (c.has(2)) broadcast(c, [[m, n], c.shape(2)]);
  return [{ dtype: c.dtype(0), shape: [m, n] }];
};

const matmul: Rule = (c: RuleContext) => {
  let a = c.shape(0);
  let b = c.shape(1);
  if (a.length === 0 || b.length === 0) c.fail('inputs must not be scalars');
  const aVec = a.length === 1;
  const bVec = b.length === 1;
  if (aVec) a = [1, a[0]!];
  if (bVec) b = [b[0]!, 1];
  const ka = a[a.length - 1]!;
  const kb = b[b.length - 2]!;
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb)
    c.fail(`inner dimensions differ: [${c.shape(0)}] x [${c.shape(1)}]`);
  const batch = broadcast(c, [a.slice(0, -2), b.slice(0, -2)]);
  const out = [...batch];
  if (!aVec) out.push(a[a.length - 2]!);
  if (!bVec) out.push(b[b.length - 1]!);
  return [{ dtype: c.dtype(0), shape: out }];
};

const einsum: Rule = (c: RuleContext) => {
  const eq = c.attrString('equation', '').replace(/\s+/g, '');
  const [lhs, rhs] = eq.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== c.node.inputs.length) c.fail(`equation '${eq}' names ${terms.length} operands`);
  const sizes = new Map<string, Dim>();
  const counts = new Map<string, number>();
  let ellipsis: Dim[] | undefined;
  terms.forEach((term, k) => {
    const shape = c.shape(k);
    const hasDots = term.includes('...');
    const letters = term.replace('...', '').split('');
    if (letters.some((l) => !/[a-zA-Z]/.test(l))) c.fail(`cannot parse equation '${eq}'`);
    const dotsRank = shape.length - letters.length;
    if (dotsRank < 0 || (!hasDots && dotsRank !== 0)) c.fail(`term '${term}' does not match input shape [${shape}]`);
    const before = hasDots ? term.indexOf('...') : letters.length;
    letters.forEach((l, j) => {
      const d = shape[j < before ? j : j + dotsRank]!;
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, d);
      else if (typeof prev === 'number' && typeof d === 'number' && d !== prev && d !== 1)
        c.fail(`label '${l}' has sizes ${prev} and ${d}`);
      counts.set(l, (counts.get(l) ?? 0) + 1);
    });
    if (hasDots) {
      const dims = shape.slice(before, before + dotsRank);
      ellipsis = ellipsis ? broadcast(c, [ellipsis, dims]) : dims;
    }
  });
  let outTerm = rhs;
  if (outTerm === undefined) {
    const once = [...counts].filter(([, n]) => n === 1).map(([l]) => l).sort();
    outTerm = (ellipsis ? '...' : '') + once.join('');
  }
  const shape: Dim[] = [];
  for (let i = 0; i < outTerm.length; i++) {
    if (outTerm.startsWith('...', i)) {
      shape.push(...(ellipsis ?? []));
      i += 2;
      continue;
    }
    const d = sizes.get(outTerm[i]!);
    if (d === undefined) c.fail(`output label '${outTerm[i]}' is not in any input`);
    shape.push(d);
  }
  return [{ dtype: c.dtype(0), shape }];
};

// ------------------------------------------------------------------ shape manipulation

const flatten: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  let axis = c.attrInt('axis', 1);
  if (axis < -r || axis > r) c.fail(`axis ${axis} is out of range for rank ${r}`);
  if (axis < 0) axis += r;
  return [
    {
      dtype: x.dtype,
      shape: [product(x.shape.slice(0, axis), () => c.sym(0, 0)), product(x.shape.slice(axis), () => c.sym(0, 1))],
    },
  ];
};

function reshapeDims(c: RuleContext, input: Dim[], target: Dim[], allowZero: boolean): Dim[] {
  const out: Dim[] = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= input.length) c.fail(`shape [${target}] copies dim ${i} that the input [${input}] lacks`);
      return input[i]!;
    }
    return d;
  });
  const minus = out.flatMap((d, i) => (d === -1 ? [i] : []));
  if (minus.length > 1) c.fail(`shape [${target}] has more than one -1`);
  if (out.some((d) => typeof d === 'number' && d < -1)) c.fail(`shape [${target}] has a negative dim`);
  const known = out.filter((d) => d !== -1);
  if (minus.length === 1) {
    out[minus[0]!] = solveFor(c, input, known, minus[0]!);
  } else if (input.every((d) => typeof d === 'number') && known.every((d) => typeof d === 'number')) {
    const a = input.reduce<number>((p, d) => p * (d as number), 1);
    const b = known.reduce<number>((p, d) => p * (d as number), 1);
    if (a !== b) c.fail(`cannot reshape [${input}] (${a} elements) to [${target}] (${b} elements)`);
  }
  return out;
}

/** The -1 of a reshape: the element count of `input` divided by that of `known`, symbols cancelling. */
function solveFor(c: RuleContext, input: Dim[], known: Dim[], at: number): Dim {
  const syms = new Map<string, number>();
  let num = 1;
  for (const d of input) {
    if (typeof d === 'number') num *= d;
    else syms.set(d, (syms.get(d) ?? 0) + 1);
  }
  let den = 1;
  for (const d of known) {
    if (typeof d === 'number') den *= d;
    else if ((syms.get(d) ?? 0) > 0) syms.set(d, syms.get(d)! - 1);
    else return c.sym(0, at);
  }
  const left = [...syms].flatMap(([s, n]) => new Array<string>(n).fill(s));
  if (den === 0) c.fail(`cannot infer -1 in a reshape to a shape with a zero dim`);
  if (left.length === 0) {
    if (num % den !== 0) c.fail(`cannot reshape [${input}] (${num} elements) to a multiple of ${den}`);
    return num / den;
  }
  if (left.length === 1 && num === den) return left[0]!;
  return c.sym(0, at);
}

const reshape: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const target = c.dimsArg(1);
  if (!target) {
    const n = c.length1D(1);
    if (n === undefined) c.fail('the target shape is neither constant nor of known length');
    return [{ dtype: x.dtype, shape: Array.from({ length: n }, (_, i) => c.sym(0, i)) }];
  }
  return [{ dtype: x.dtype, shape: reshapeDims(c, x.shape, target, c.attrInt('allowzero', 0) !== 0) }];
};

const squeeze: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  let axes = c.ints(1);
  if (c.has(1) && !axes) c.fail('axes must be constant');
  if (!axes) axes = x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  const drop = new Set(axes.map((a) => c.axis(a, r, 'squeeze axis')));
  for (const a of drop) {
    const d = x.shape[a]!;
    if (typeof d === 'number' && d !== 1) c.fail(`cannot squeeze axis ${a} of size ${d}`);
  }
  return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !drop.has(i)) }];
};

const unsqueeze: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const axes = c.ints(1);
  if (!axes) c.fail('axes must be constant');
  const r = x.shape.length + axes.length;
  const at = new Set(axes.map((a) => c.axis(a, r, 'unsqueeze axis')));
  if (at.size !== axes.length) c.fail(`axes [${axes}] repeat an axis`);
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < r; i++) out.push(at.has(i) ? 1 : x.shape[k++]!);
  return [{ dtype: x.dtype, shape: out }];
};

const transpose: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  const perm = c.attrInts('perm') ?? x.shape.map((_, i) => r - 1 - i);
  if (perm.length !== r || new Set(perm).size !== r || perm.some((p) => !(p >= 0 && p < r)))
    c.fail(`perm [${perm}] is not a permutation of ${r} axes`);
  return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
};

const concat: Rule = (c: RuleContext) => {
  const present = c.node.inputs.map((_, i) => i).filter((i) => c.has(i));
  if (present.length === 0) c.fail('needs at least one input');
  const first = c.type(present[0]!);
  const r = first.shape.length;
  const axis = c.axis(c.attrInt('axis', 0), r);
  const out = [...first.shape];
  let total: Dim = 0;
  for (const i of present) {
    const s = c.shape(i);
    if (s.length !== r) c.fail(`inputs differ in rank: [${first.shape}] and [${s}]`);
    s.forEach((d, j) => {
      if (j === axis) return;
      const o = out[j]!;
      if (typeof o === 'number' && typeof d === 'number' && o !== d)
        c.fail(`inputs differ on axis ${j}: [${first.shape}] and [${s}]`);
      if (typeof o === 'string' && typeof d === 'number') out[j] = d;
    });
    const d = s[axis]!;
    total = typeof total === 'number' && typeof d === 'number' ? total + d : c.sym(0, axis);
  }
  out[axis] = total;
  return [{ dtype: first.dtype, shape: out }];
};

const split: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  const axis = c.axis(c.attrInt('axis', 0), r);
  const n = c.node.outputs.length;
  const d = x.shape[axis]!;
  let parts: Dim[];
  const given = c.ints(1) ?? c.attrInts('split');
  if (given) {
    if (given.length !== n) c.fail(`split [${given}] does not give one size per output (${n})`);
    if (typeof d === 'number' && given.reduce((a, b) => a + b, 0) !== d)
      c.fail(`split [${given}] does not sum to the axis size ${d}`);
    parts = given;
  } else if (c.has(1)) {
    parts = c.node.outputs.map((_, k) => c.sym(k, axis));
  } else if (typeof d === 'number') {
    if (d % n !== 0) c.fail(`axis size ${d} does not split evenly into ${n} outputs`);
    parts = new Array<Dim>(n).fill(d / n);
  } else {
    parts = c.node.outputs.map((_, k) => c.sym(k, axis));
  }
  return parts.map((p) => {
    const s = [...x.shape];
    s[axis] = p;
    return { dtype: x.dtype, shape: s };
  });
};

/** Start, end (exclusive) and count of a slice along a dim of size `dim`, as ONNX Slice defines them. */
export function sliceRange(start: number, end: number, step: number, dim: number): [number, number, number] {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
  } else {
    start = Math.min(Math.max(start, 0), dim - 1);
    end = Math.min(Math.max(end, -1), dim - 1);
  }
  return [start, end, Math.max(0, Math.ceil((end - start) / step))];
}

const slice: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  const starts = c.ints(1);
  const ends = c.ints(2);
  // Absent axes mean [0, 1, ..., len(starts) - 1], not every axis of x.
  const axes = c.has(3) ? c.ints(3) : starts?.map((_, i) => i);
  const steps = c.has(4) ? c.ints(4) : undefined;
  const out = [...x.shape];
  if (!axes) return [{ dtype: x.dtype, shape: out.map((_, i) => c.sym(0, i)) }];
  const norm = axes.map((a) => c.axis(a, r, 'slice axis'));
  if (!starts || !ends) {
    for (const a of norm) out[a] = c.sym(0, a);
    return [{ dtype: x.dtype, shape: out }];
  }
  if (starts.length !== norm.length || ends.length !== norm.length) c.fail('starts, ends and axes differ in length');
  norm.forEach((a, k) => {
    const step = steps ? steps[k]! : 1;
    if (step === 0 || step === undefined) c.fail('slice step must not be 0');
    const d = x.shape[a]!;
    out[a] = typeof d === 'number' ? sliceRange(starts[k]!, ends[k]!, step, d)[2] : c.sym(0, a);
  });
  return [{ dtype: x.dtype, shape: out }];
};

const pad: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  const pads = c.ints(1);
  if (!pads) return [{ dtype: x.dtype, shape: x.shape.map((_, i) => c.sym(0, i)) }];
  if (pads.length !== 2 * r) c.fail(`pads [${pads}] must have 2 x rank = ${2 * r} entries`);
  return [
    {
      dtype: x.dtype,
      shape: x.shape.map((d, i) => {
        if (typeof d !== 'number') return pads[i] === 0 && pads[i + r] === 0 ? d : c.sym(0, i);
        const o = d + pads[i]! + pads[i + r]!;
        if (o < 0) c.fail(`pads [${pads}] make axis ${i} negative`);
        return o;
      }),
    },
  ];
};

const gather: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const idx = c.shape(1);
  const axis = c.axis(c.attrInt('axis', 0), x.shape.length);
  return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx, ...x.shape.slice(axis + 1)] }];
};

const gatherElements: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const idx = c.shape(1);
  if (idx.length !== x.shape.length) c.fail(`indices [${idx}] and data [${x.shape}] differ in rank`);
  c.axis(c.attrInt('axis', 0), x.shape.length);
  return [{ dtype: x.dtype, shape: [...idx] }];
};

const gatherND: Rule = (c: RuleContext) => {
  const x = c.shape(0);
  const idx = c.shape(1);
  const b = c.attrInt('batch_dims', 0);
  const last = idx[idx.length - 1];
  if (typeof last !== 'number') return [{ dtype: c.dtype(0), shape: [c.sym(0, 0)] }];
  return [{ dtype: c.dtype(0), shape: [...idx.slice(0, -1), ...x.slice(b + last)] }];
};

const expand: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const shape = c.dimsArg(1);
  if (!shape) {
    const n = c.length1D(1);
    if (n === undefined) c.fail('the target shape is neither constant nor of known length');
    const r = Math.max(n, x.shape.length);
    return [{ dtype: x.dtype, shape: Array.from({ length: r }, (_, i) => c.sym(0, i)) }];
  }
  return [{ dtype: x.dtype, shape: broadcast(c, [x.shape, shape]) }];
};

const tile: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const reps = c.ints(1);
  if (!reps) return [{ dtype: x.dtype, shape: x.shape.map((_, i) => c.sym(0, i)) }];
  if (reps.length !== x.shape.length) c.fail(`repeats [${reps}] must have one entry per axis of [${x.shape}]`);
  return [
    { dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d * reps[i]! : reps[i] === 1 ? d : c.sym(0, i))) },
  ];
};

const depthToSpace: Rule = (c: RuleContext) => {
  const [n, ch, h, w] = c.shape(0);
  if (c.rank(0) !== 4) c.fail('input must be 4-D');
  const b = c.attrInt('blocksize', 0);
  if (b < 1) c.fail('blocksize must be positive');
  const mul = (d: Dim, k: number, i: number): Dim => (typeof d === 'number' ? d * k : c.sym(0, i));
  const div = (d: Dim, k: number, i: number): Dim => {
    if (typeof d !== 'number') return c.sym(0, i);
    if (d % k !== 0) c.fail(`dim ${d} is not divisible by ${k}`);
    return d / k;
  };
  if (c.node.opType === 'DepthToSpace')
    return [{ dtype: c.dtype(0), shape: [n!, div(ch!, b * b, 1), mul(h!, b, 2), mul(w!, b, 3)] }];
  return [{ dtype: c.dtype(0), shape: [n!, mul(ch!, b * b, 1), div(h!, b, 2), div(w!, b, 3)] }];
};

// ------------------------------------------------------------------ reductions and normalizations

function reduce(c: RuleContext, axes: number[] | undefined, dtype?: DType): ValueType[] {
  const x = c.type(0);
  const r = x.shape.length;
  const keep = c.attrInt('keepdims', 1) !== 0;
  if (!axes || axes.length === 0) {
    if (c.attrInt('noop_with_empty_axes', 0) !== 0) return [{ dtype: dtype ?? x.dtype, shape: [...x.shape] }];
    axes = x.shape.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => c.axis(a, r, 'reduce axis')));
  const shape = keep ? x.shape.map((d, i) => (set.has(i) ? 1 : d)) : x.shape.filter((_, i) => !set.has(i));
  return [{ dtype: dtype ?? x.dtype, shape }];
}

const reduceAttr: Rule = (c: RuleContext) => reduce(c, c.attrInts('axes'));

const reduceInput: Rule = (c: RuleContext) => {
  if (c.has(1) && !c.ints(1)) c.fail('axes must be constant');
  return reduce(c, c.ints(1));
};

const argReduce: Rule = (c: RuleContext) => reduce(c, [c.attrInt('axis', 0)], 'int64');

const topK: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const axis = c.axis(c.attrInt('axis', -1), x.shape.length);
  const k = c.ints(1);
  const shape = [...x.shape];
  if (k) {
    if (k.length !== 1 || !(k[0]! >= 0)) c.fail(`K must be one non-negative value, got [${k}]`);
    const d = shape[axis]!;
    if (typeof d === 'number' && k[0]! > d) c.fail(`K = ${k[0]} exceeds the axis size ${d}`);
    shape[axis] = k[0]!;
  } else shape[axis] = c.sym(0, axis);
  return [
    { dtype: x.dtype, shape },
    { dtype: 'int64', shape: [...shape] },
  ];
};

const batchNorm: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const ch = x.shape[1] ?? 1;
  return c.node.outputs.map((_, k) => (k === 0 ? { dtype: x.dtype, shape: [...x.shape] } : { dtype: x.dtype, shape: [ch] }));
};

const layerNorm: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  const axis = c.axis(c.attrInt('axis', -1), r);
  const stat = x.shape.map((d, i) => (i < axis ? d : 1));
  return c.node.outputs.map((_, k) => (k === 0 ? { dtype: x.dtype, shape: [...x.shape] } : { dtype: 'float32' as DType, shape: stat }));
};

const dropout: Rule = (c: RuleContext) => {
  const x = c.type(0);
  return [
    { dtype: x.dtype, shape: [...x.shape] },
    { dtype: 'bool', shape: [...x.shape] },
  ];
};

// ------------------------------------------------------------------ constants and shape values

function attrTensorType(c: RuleContext): ValueType {
  const a = c.node.attrs;
  if (a['value']?.t) return { dtype: a['value'].t.dtype, shape: [...a['value'].t.dims] };
  if (a['value_float']?.f !== undefined) return { dtype: 'float32', shape: [] };
  if (a['value_floats']?.floats) return { dtype: 'float32', shape: [a['value_floats'].floats.length] };
  if (a['value_int']?.i !== undefined) return { dtype: 'int64', shape: [] };
  if (a['value_ints']?.ints) return { dtype: 'int64', shape: [a['value_ints'].ints.length] };
  if (a['value_string']?.s !== undefined) return { dtype: 'string', shape: [] };
  if (a['value_strings']?.strings) return { dtype: 'string', shape: [a['value_strings'].strings.length] };
  return c.fail('has no value attribute this reader understands (sparse_value is not supported)');
}

const constantOfShape: Rule = (c: RuleContext) => {
  const dtype = c.node.attrs['value']?.t?.dtype ?? 'float32';
  const dims = c.dimsArg(0);
  if (dims) {
    if (dims.some((d) => typeof d === 'number' && d < 0)) c.fail(`shape [${dims}] has a negative dim`);
    return [{ dtype, shape: [...dims] }];
  }
  const n = c.length1D(0);
  if (n === undefined) c.fail('the shape input is neither constant nor of known length');
  return [{ dtype, shape: Array.from({ length: n }, (_, i) => c.sym(0, i)) }];
};

/** Start and end of Shape-15's [start, end) window over a rank-r shape. */
export function shapeWindow(node: Node, r: number): [number, number] {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
  const start = clamp(node.attrs['start']?.i ?? 0);
  const end = clamp(node.attrs['end']?.i ?? r);
  return [start, Math.max(start, end)];
}

const shapeOp: Rule = (c: RuleContext) => {
  const [s, e] = shapeWindow(c.node, c.rank(0));
  return [{ dtype: 'int64', shape: [e - s] }];
};

const range: Rule = (c: RuleContext) => {
  const dtype = c.dtype(0);
  const [start, limit, delta] = [c.floats(0), c.floats(1), c.floats(2)];
  if (start && limit && delta) {
    if (delta[0] === 0) c.fail('delta must not be 0');
    return [{ dtype, shape: [Math.max(Math.ceil((limit[0]! - start[0]!) / delta[0]!), 0)] }];
  }
  return [{ dtype, shape: [c.sym(0, 0)] }];
};

const resize: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  const sizes = c.has(3) ? c.dimsArg(3) : undefined;
  if (sizes && sizes.length > 0) {
    if (sizes.length !== r) c.fail(`sizes [${sizes}] must have one entry per axis of [${x.shape}]`);
    return [{ dtype: x.dtype, shape: [...sizes] }];
  }
  const scales = c.has(2) ? c.floats(2) : undefined;
  if (scales && scales.length > 0) {
    if (scales.length !== r) c.fail(`scales [${scales}] must have one entry per axis of [${x.shape}]`);
    if (scales.some((s) => !(s > 0))) c.fail(`scales [${scales}] must be positive`);
    // onnxruntime multiplies in float32 and truncates.
    return [
      {
        dtype: x.dtype,
        shape: x.shape.map((d, i) =>
          typeof d === 'number' ? Math.floor(Math.fround(Math.fround(scales[i]!) * Math.fround(d))) : scales[i] === 1 ? d : c.sym(0, i),
        ),
      },
    ];
  }
  if (!c.has(2) && !c.has(3)) c.fail('needs scales or sizes');
  return [{ dtype: x.dtype, shape: x.shape.map((_, i) => c.sym(0, i)) }];
};

const dft: Rule = (c: RuleContext) => {
  const x = c.type(0);
  const r = x.shape.length;
  if (r < 2) c.fail('input needs a signal axis and a last axis of 1 (real) or 2 (complex)');
  const axis = c.axis(c.attrInt('axis', 1), r - 1);
  const len = c.has(1) ? c.ints(1)?.[0] : undefined;
  const onesided = c.attrInt('onesided', 0) !== 0;
  const inverse = c.attrInt('inverse', 0) !== 0;
  const shape = [...x.shape];
  let n: Dim = len ?? shape[axis]!;
  if (c.has(1) && len === undefined) n = c.sym(0, axis);
  if (onesided && !inverse) n = typeof n === 'number' ? Math.floor(n / 2) + 1 : c.sym(0, axis);
  shape[axis] = n;
  shape[r - 1] = 2;
  return [{ dtype: x.dtype, shape }];
};

const gridSample: Rule = (c: RuleContext) => {
  const x = c.shape(0);
  const g = c.shape(1);
  if (x.length !== 4 || g.length !== 4) c.fail(`expects 4-D input and grid, got [${x}] and [${g}]`);
  return [{ dtype: c.dtype(0), shape: [x[0]!, x[1]!, g[1]!, g[2]!] }];
};

const oneHot: Rule = (c: RuleContext) => {
  const idx = c.shape(0);
  const depth = c.floats(1);
  const r = idx.length + 1;
  const axis = c.axis(c.attrInt('axis', -1), r);
  const shape = [...idx];
  shape.splice(axis, 0, depth ? Math.trunc(depth[0]!) : c.sym(0, axis));
  return [{ dtype: c.dtype(2), shape }];
};

const eyeLike: Rule = (c: RuleContext) => {
  const to = c.node.attrs['dtype']?.i;
  return withDtype(c, to !== undefined ? dtypeFromCode(to, `node '${c.node.name}'`) : c.dtype(0));
};

const cast: Rule = (c: RuleContext) => {
  const to = c.node.attrs['to']?.i;
  if (to === undefined) c.fail("attribute 'to' is required");
  return withDtype(c, dtypeFromCode(to, `node '${c.node.name}' (Cast)`));
};

// ------------------------------------------------------------------ the table

const unary = [
  'Relu', 'LeakyRelu', 'Elu', 'Selu', 'Celu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus',
  'Softsign', 'ThresholdedRelu', 'Shrink', 'Exp', 'Log', 'Sqrt', 'Abs', 'Neg', 'Reciprocal', 'Erf', 'Sign',
  'Floor', 'Ceil', 'Round', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh',
  'Atanh', 'Identity', 'LRN', 'Softmax', 'LogSoftmax', 'Hardmax', 'InstanceNormalization', 'LpNormalization',
  'MeanVarianceNormalization', 'Clip', 'CumSum', 'Trilu', 'ReverseSequence', 'ScatterElements', 'ScatterND',
  'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'PRelu', 'BitwiseNot', 'Gelu', 'Mish',
];

const RULES: Record<string, Rule> = {
  ...Object.fromEntries(unary.map((op) => [op, same])),
  Add: (c) => elementwise(c),
  Sub: (c) => elementwise(c),
  Mul: (c) => elementwise(c),
  Div: (c) => elementwise(c),
  Pow: (c) => elementwise(c),
  Mod: (c) => elementwise(c),
  BitShift: (c) => elementwise(c),
  Sum: (c) => elementwise(c),
  Mean: (c) => elementwise(c),
  Max: (c) => elementwise(c),
  Min: (c) => elementwise(c),
  Where: (c) => [{ dtype: c.dtype(1), shape: elementwise(c)[0]!.shape }],
  Equal: (c) => elementwise(c, 'bool'),
  Less: (c) => elementwise(c, 'bool'),
  LessOrEqual: (c) => elementwise(c, 'bool'),
  Greater: (c) => elementwise(c, 'bool'),
  GreaterOrEqual: (c) => elementwise(c, 'bool'),
  And: (c) => elementwise(c, 'bool'),
  Or: (c) => elementwise(c, 'bool'),
  Xor: (c) => elementwise(c, 'bool'),
  Not: (c) => withDtype(c, 'bool'),
  IsNaN: (c) => withDtype(c, 'bool'),
  IsInf: (c) => withDtype(c, 'bool'),
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: (c) => pool(c, true),
  AveragePool: (c) => pool(c, false),
  LpPool: (c) => pool(c, false),
  GlobalAveragePool: globalPool,
  GlobalMaxPool: globalPool,
  GlobalLpPool: globalPool,
  Gemm: gemm,
  MatMul: matmul,
  Einsum: einsum,
  BatchNormalization: batchNorm,
  LayerNormalization: layerNorm,
  Dropout: dropout,
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  Expand: expand,
  Tile: tile,
  DepthToSpace: depthToSpace,
  SpaceToDepth: depthToSpace,
  ReduceSum: reduceInput,
  ReduceMean: reduceAttr,
  ReduceMax: reduceAttr,
  ReduceMin: reduceAttr,
  ReduceProd: reduceAttr,
  ReduceL1: reduceAttr,
  ReduceL2: reduceAttr,
  ReduceSumSquare: reduceAttr,
  ReduceLogSum: reduceAttr,
  ReduceLogSumExp: reduceAttr,
  ArgMax: argReduce,
  ArgMin: argReduce,
  TopK: topK,
  Resize: resize,
  Cast: cast,
  CastLike: (c) => withDtype(c, c.dtype(1)),
  Constant: (c) => [attrTensorType(c)],
  ConstantOfShape: constantOfShape,
  Shape: shapeOp,
  Size: () => [{ dtype: 'int64', shape: [] }],
  Range: range,
  DFT: dft,
  GridSample: gridSample,
  OneHot: oneHot,
  EyeLike: eyeLike,
  Det: (c) => [{ dtype: c.dtype(0), shape: c.shape(0).slice(0, -2) }],
  NonZero: (c) => [{ dtype: 'int64', shape: [c.rank(0), c.sym(0, 1)] }],
};

/** Ops of the default domain that have a shape rule. */
export function shapeRuleOps(): string[] {
  return Object.keys(RULES).sort();
}

export function hasShapeRule(node: Node): boolean {
  return node.domain === '' && node.opType in RULES;
}

/**
 * Output types of one canonical (opset 17) node from its input types and constant inputs. `inSymbols`
 * optionally gives the symbolic values of int64 shape tensors (see `symbolicValue`). Throws FvizError when
 * the op has no rule or the inputs do not fit it.
 */
export function inferNode(
  node: Node,
  inTypes: (ValueType | undefined)[],
  inConsts: (TensorData | undefined)[],
  inSymbols: (Dim[] | undefined)[] = [],
): ValueType[] {
  const rule = node.domain === '' ? RULES[node.opType] : undefined;
  if (!rule)
    throw new FvizError(
      `no shape rule for op ${node.domain ? node.domain + '.' : ''}${node.opType} (node '${node.name}', opset ${CANONICAL_OPSET})`,
      { subject: node.opType },
    );
  const c = new RuleContext(node, inTypes, inConsts, inSymbols);
  let out: (ValueType | undefined)[];
  try {
    out = rule(c);
  } catch (e) {
    if (e instanceof FvizError) throw e;
    // A malformed node (wrong attribute kinds, corrupt file) must still fail with one line.
    throw new FvizError(`node '${node.name}' (${node.opType}) is malformed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const types: ValueType[] = [];
  node.outputs.forEach((o, k) => {
    const t = out[k];
    if (o && !t) c.fail(`has an output ${k} that this op does not produce`);
    if (t && t.shape.some((d) => typeof d === 'number' && !(Number.isInteger(d) && d >= 0)))
      c.fail(`inferred an invalid shape [${t.shape}] for '${o}'`);
    types.push(t ?? { dtype: 'float32', shape: [] });
  });
  return types;
}

// ------------------------------------------------------------------ symbolic values of shape tensors

const MAX_SYMBOLIC = 64;

/**
 * The value of a small 1-D (or scalar) int64 output as dims, some possibly symbolic, for the ops PyTorch
 * uses to compute shapes: Shape, Gather, Unsqueeze, Squeeze, Concat, Slice, Cast, Identity.
 */
export function symbolicValue(
  node: Node,
  inTypes: (ValueType | undefined)[],
  inConsts: (TensorData | undefined)[],
  inSymbols: (Dim[] | undefined)[],
): Dim[] | undefined {
  if (node.domain !== '') return undefined;
  const value = (i: number): Dim[] | undefined => {
    const c = inConsts[i];
    if (c && !Array.isArray(c.data) && c.data.length <= MAX_SYMBOLIC) return Array.from(c.data as ArrayLike<number | bigint>, Number);
    return inSymbols[i];
  };
  switch (node.opType) {
    case 'Shape': {
      const t = inTypes[0];
      if (!t) return undefined;
      const [s, e] = shapeWindow(node, t.shape.length);
      return t.shape.slice(s, e);
    }
    case 'Identity':
    case 'Cast':
    case 'Unsqueeze':
    case 'Squeeze': {
      if (node.opType === 'Cast' && node.attrs['to']?.i !== 7 && node.attrs['to']?.i !== 6) return undefined;
      return value(0);
    }
    case 'Concat': {
      const parts = node.inputs.map((_, i) => value(i));
      if (parts.some((p) => !p)) return undefined;
      return parts.flat() as Dim[];
    }
    case 'Gather': {
      const v = value(0);
      const idx = inConsts[1];
      if (!v || !idx || Array.isArray(idx.data) || idx.dims.length > 1) return undefined;
      const out: Dim[] = [];
      for (const raw of Array.from(idx.data as ArrayLike<number | bigint>, Number)) {
        const k = raw < 0 ? raw + v.length : raw;
        if (!(k >= 0 && k < v.length)) return undefined;
        out.push(v[k]!);
      }
      return out;
    }
    case 'Slice': {
      const v = value(0);
      const [st, en] = [inConsts[1], inConsts[2]];
      if (!v || !st || !en || (node.inputs[3] && !inConsts[3]) || (node.inputs[4] && !inConsts[4])) return undefined;
      const num = (t: TensorData) => Array.from(t.data as ArrayLike<number | bigint>, Number);
      if (inConsts[3] && num(inConsts[3]).some((a) => a !== 0 && a !== -1)) return undefined;
      const step = inConsts[4] ? num(inConsts[4])[0]! : 1;
      if (step !== 1) return undefined;
      const [s, e] = sliceRange(num(st)[0]!, num(en)[0]!, 1, v.length);
      return v.slice(s, e);
    }
    default:
      return undefined;
  }
}

// ------------------------------------------------------------------ whole graphs

export interface InferOptions {
  /**
   * Leave values untyped (or as the file declared them) where an op has no rule or an input type is
   * unknown, instead of throwing. Used by `fviz inspect` to report on graphs the compiler cannot take.
   */
  lenient?: boolean;
}

/**
 * Infer the type of every value of a canonical graph into `graph.valueTypes`, in topological order, and
 * update the declared types of graph outputs. Constants come from initializers and Constant nodes.
 * Returns the nodes whose outputs could not be typed (only in lenient mode).
 */
export function inferShapes(graph: Graph, opts: InferOptions = {}): Node[] {
  const types = graph.valueTypes;
  for (const v of graph.inputs) types.set(v.name, { dtype: v.dtype, shape: [...v.shape] });
  for (const [k, t] of graph.initializers) types.set(k, { dtype: t.dtype, shape: [...t.dims] });
  const consts = new Map<string, TensorData>(graph.initializers);
  const symbols = new Map<string, Dim[]>();
  const skipped: Node[] = [];
  for (const node of topoSort(graph)) {
    const inTypes = node.inputs.map((i) => (i ? types.get(i) : undefined));
    const inConsts = node.inputs.map((i) => (i ? consts.get(i) : undefined));
    const inSyms = node.inputs.map((i) => (i ? symbols.get(i) : undefined));
    let out: ValueType[];
    try {
      out = inferNode(node, inTypes, inConsts, inSyms);
    } catch (e) {
      if (!opts.lenient || !(e instanceof FvizError)) throw e;
      skipped.push(node);
      continue;
    }
    node.outputs.forEach((o, k) => {
      if (o) types.set(o, out[k]!);
    });
    if (node.opType === 'Constant' && node.domain === '' && node.attrs['value']?.t)
      consts.set(node.outputs[0]!, node.attrs['value'].t);
    const sv = symbolicValue(node, inTypes, inConsts, inSyms);
    if (sv && node.outputs[0]) symbols.set(node.outputs[0], sv);
  }
  for (const o of graph.outputs) {
    const t = types.get(o.name);
    if (t) {
      o.dtype = t.dtype;
      o.shape = [...t.shape];
    }
  }
  return skipped;
}
