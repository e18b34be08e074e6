// Objectives become nodes appended to the model: a per-item value [N] and their sum, a scalar.
// Channel, neuron and class terms are linear: a constant mask multiplied in and summed, whose gradient
// is the mask itself. The layer term (DeepDream) is the mean of squares.
import { FvizError, nearestNames } from '../../errors.ts';
import { GraphBuilder } from '../../onnx/builder.ts';
import type { Graph, Model, TensorData } from '../../onnx/ir.ts';
import { cloneModel, sizeOf } from '../../onnx/ir.ts';
import { tensor, zeros } from '../../onnx/tensor.ts';
import { noStaticShapeError } from '../../onnx/specialize.ts';
import type { ObjectiveAst, Target, Term } from './parse.ts';
import { appendDiversity } from './diversity.ts';
import { formatTarget, parseObjective } from './parse.ts';
import { findPreSoftmax, singleLogitsOutput } from '../../classifier/logits.ts';
import { producersOf, throughConcat } from './through-concat.ts';

export { findPreSoftmax } from '../../classifier/logits.ts';

export const OBJECTIVE = 'objective';
export const OBJECTIVE_PER_ITEM = 'objective_per_item';

/** What a classifier's card tells the objective builder. */
export interface ObjectiveNames {
  /** The pre-softmax tensor for class: terms (default: the input of the last Softmax node). */
  preSoftmax?: string;
  /** Class labels in index order, for class:NAME. */
  labels?: string[];
  /** Friendly names (e.g. Caffe layer names) -> tensor names. */
  aliases?: Record<string, string>;
}

export interface ResolvedTerm {
  weight: number;
  target: Target;
  /** Only this batch member (else every member). */
  batch?: number;
  /** The tensor the term reads. */
  tensor: string;
  /** The tensor's shape. */
  shape: number[];
  /** Display label, e.g. 'class:945 (bell pepper)'. */
  label: string;
}

/** An objective as text, as a parsed tree, or built with the programmatic API (api.ts). */
export type ObjectiveInput = string | ObjectiveAst | { toAst(): ObjectiveAst };

export function objectiveAst(o: ObjectiveInput): ObjectiveAst {
  if (typeof o === 'string') return parseObjective(o);
  return 'toAst' in o ? o.toAst() : o;
}

export interface ObjectiveModel {
  model: Model;
  /** Scalar: sum over the batch of the weighted terms (plus diversity terms). */
  scalar: string;
  /** [N]: the objective of each batch item. */
  perItem: string;
  terms: ResolvedTerm[];
  /** With `masksAsInputs`: each linear mask's graph input, the tensor it multiplies, and its value for this objective. */
  maskInputs?: { input: string; tensor: string; mask: TensorData }[];
}

export interface AppendObjectiveOptions {
  /**
   * The linear terms' masks as graph inputs (fed from `maskInputs`) instead of constants: one compiled
   * program then serves every objective whose masks fall on the same tensors (objectiveMasks), e.g. the
   * atlas's shards of one layer.
   */
  masksAsInputs?: boolean;
}

/** A linear mask: the tensor it multiplies, and its value. */
export interface ObjectiveMask {
  tensor: string;
  /** The tensor's shape (the mask's first dimension is 1 when no term is for one batch member). */
  shape: number[];
  mask: TensorData;
}

function aliasesOf(model: Model, names: ObjectiveNames): Record<string, string> {
  let fromMeta: Record<string, string> = {};
  const meta = model.metadata['fviz.aliases'];
  if (meta) {
    try {
      fromMeta = JSON.parse(meta) as Record<string, string>;
    } catch {
      /* ignore malformed metadata */
    }
  }
  return { ...fromMeta, ...(names.aliases ?? {}) };
}

export function resolveTensor(g: Graph, name: string, aliases: Record<string, string>): string {
  if (g.valueTypes.has(name) && !g.initializers.has(name)) return name;
  const aliased = aliases[name];
  if (aliased && g.valueTypes.has(aliased)) return aliased;
  const known = [...g.valueTypes.keys()].filter((k) => !g.initializers.has(k));
  throw new FvizError(
    `unknown tensor '${name}'; nearest names: ${nearestNames(name, [...known, ...Object.keys(aliases)]).join(', ')} (fviz inspect MODEL lists them all)`,
    { subject: name },
  );
}

export function resolveClass(cls: number | string, labels: string[] | undefined, count: number): number {
  if (typeof cls === 'number') {
    if (cls < 0 || cls >= count) throw new FvizError(`class ${cls} is out of range: the model has classes 0..${count - 1}`);
    return cls;
  }
  if (!labels) throw new FvizError(`class '${cls}': the model has no labels; use an index 0..${count - 1}`);
  const norm = (s: string) => s.toLowerCase().replace(/[_\s-]+/g, ' ').trim();
  const want = norm(cls);
  const synonyms = labels.map((l) => l.replace(/^n\d{8}\s+/, '').split(',').map(norm));
  let idx = synonyms.findIndex((syn) => syn.includes(want));
  if (idx < 0) idx = synonyms.findIndex((syn) => syn.some((s) => s.startsWith(want)));
  if (idx < 0) {
    const flat = labels.map((l) => l.replace(/^n\d{8}\s+/, '').split(',')[0]!.trim().replace(/\s+/g, '_'));
    throw new FvizError(`unknown class '${cls}'; nearest labels: ${nearestNames(cls, flat).join(', ')}`, { subject: cls });
  }
  return idx;
}

function labelOf(idx: number, labels?: string[]): string {
  if (!labels) return '';
  const l = labels[idx];
  return l ? ` (${l.replace(/^n\d{8}\s+/, '').split(',')[0]!.trim()})` : '';
}

/** Resolve every term against the graph: tensor names, class indices, channel and position ranges. */
export function resolveTerms(model: Model, ast: ObjectiveAst, names: ObjectiveNames = {}): ResolvedTerm[] {
  const g = model.graph;
  const aliases = aliasesOf(model, names);
  const exists = (name: string) => (g.valueTypes.has(name) && !g.initializers.has(name)) || (aliases[name] !== undefined && g.valueTypes.has(aliases[name]));
  return ast.terms.map((term: Term): ResolvedTerm => {
    const r = resolveTerm(g, aliases, exists, term, names);
    if (term.batch === undefined) return r;
    const n = r.shape[0]!;
    if (!Number.isInteger(term.batch) || term.batch < 0 || term.batch >= n)
      throw new FvizError(`objective term ${r.label} is for batch member ${term.batch}, but the batch has members 0..${n - 1}`);
    return { ...r, batch: term.batch, label: `${r.label}[${term.batch}]` };
  });
}

function resolveTerm(g: Graph, aliases: Record<string, string>, exists: (name: string) => boolean, term: Term, names: ObjectiveNames): ResolvedTerm {
  let t = term.target;
  // tf2onnx names tensors 'op:0': read 'name:0' as that whole tensor when 'name' itself does not exist.
  if (t.kind === 'channel' && !exists(t.tensor) && exists(`${t.tensor}:${t.channel}`)) t = { kind: 'layer', tensor: `${t.tensor}:${t.channel}` };
  if (t.kind === 'class') {
    const pre = names.preSoftmax ? resolveTensor(g, names.preSoftmax, aliases) : (findPreSoftmax(g) ?? singleLogitsOutput(g));
    if (!pre) throw new FvizError(`class objective: the model has no Softmax and no single N x K output; name the logits tensor with TENSOR:K instead`);
    const shape = g.valueTypes.get(pre)!.shape as number[];
    if (shape.length < 2) throw new FvizError(`class objective: logits '${pre}' have shape [${shape}], not N x K`);
    // [N, K] or [N, K, 1, 1]: classes along axis 1
    const count = shape[1]!;
    const idx = resolveClass(t.cls, names.labels, count);
    return { weight: term.weight, target: { kind: 'class', cls: idx }, tensor: pre, shape, label: `class:${idx}${labelOf(idx, names.labels)}` };
  }
  const tensorName = resolveTensor(g, t.tensor, aliases);
  const shape = g.valueTypes.get(tensorName)!.shape;
  if (!shape.every((d): d is number => typeof d === 'number'))
    throw noStaticShapeError(g, tensorName, `tensor '${t.tensor}'`);
  if (t.kind !== 'layer') {
    if (shape.length < 2) throw new FvizError(`tensor '${t.tensor}' has shape [${shape}]: no channel axis to select from`);
    const channels = shape[1]!;
    if (t.channel < 0 || t.channel >= channels)
      throw new FvizError(`channel ${t.channel} of '${t.tensor}' is out of range: it has channels 0..${channels - 1}`);
  }
  if (t.kind === 'neuron') {
    if (shape.length !== 4) throw new FvizError(`'${t.tensor}' has shape [${shape}]: a neuron @Y,X needs an N x C x H x W tensor`);
    const [, , h, w] = shape as [number, number, number, number];
    if (t.y < 0 || t.y >= h || t.x < 0 || t.x >= w)
      throw new FvizError(`position @${t.y},${t.x} is outside '${t.tensor}': rows 0..${h - 1}, columns 0..${w - 1}`);
  }
  return { weight: term.weight, target: { ...t, tensor: tensorName }, tensor: tensorName, shape, label: formatTarget(t) };
}

/** The constant mask whose product with the tensor, summed, gives a linear term. */
function linearMask(term: ResolvedTerm, dtype: 'float32' | 'float64', perMember: boolean) {
  const [n, ...rest] = term.shape;
  if (perMember) {
    // [N, ...]: the member's own row, or every row.
    const full = zeros(dtype, [n!, ...rest]);
    const row = linearMask(term, dtype, false).data as Float32Array;
    const data = full.data as Float32Array;
    for (let b = 0; b < n!; b++) if (term.batch === undefined || term.batch === b) data.set(row, b * row.length);
    return full;
  }
  const mask = zeros(dtype, [1, ...rest]);
  const data = mask.data as Float32Array;
  const perChannel = sizeOf(rest.slice(1));
  const t = term.target;
  if (t.kind === 'class') {
    // logits [N, K] (or [N, K, 1, 1]): element K
    data[(t.cls as number) * perChannel] = term.weight;
  } else if (t.kind === 'channel') {
    for (let k = 0; k < perChannel; k++) data[t.channel * perChannel + k] = term.weight / perChannel;
  } else if (t.kind === 'neuron') {
    const w = rest[2]!;
    data[t.channel * perChannel + t.y * w + t.x] = term.weight;
  }
  return mask;
}

/**
 * The masks of an objective's linear terms (channel, neuron, class), one per tensor read, in a fixed order;
 * a term on a channel Concat reads its own branch (through-concat.ts).
 */
export function linearMasks(model: Model, terms: ResolvedTerm[]): ObjectiveMask[] {
  const g = model.graph;
  const producers = producersOf(g);
  const byTensor = new Map<string, ResolvedTerm[]>();
  for (const resolved of terms) {
    if (resolved.target.kind === 'layer') continue;
    const t = throughConcat(g, resolved, producers);
    const list = byTensor.get(t.tensor) ?? [];
    list.push(t);
    byTensor.set(t.tensor, list);
  }
  return [...byTensor].map(([name, list]) => {
    const dtype = g.valueTypes.get(name)!.dtype as 'float32' | 'float64';
    const perMember = list.some((t) => t.batch !== undefined);
    const mask = list.map((t) => linearMask(t, dtype, perMember)).reduce((acc, m2) => {
      const a = acc.data as Float32Array;
      const c = m2.data as Float32Array;
      for (let k = 0; k < a.length; k++) a[k]! += c[k]!;
      return acc;
    });
    return { tensor: name, shape: list[0]!.shape, mask };
  });
}

/** The masks of an objective on a prepared model (what a program compiled with masksAsInputs is fed). */
export function objectiveMasks(model: Model, objective: ObjectiveInput, names: ObjectiveNames = {}): { masks: ObjectiveMask[]; terms: ResolvedTerm[]; linearOnly: boolean } {
  const ast = objectiveAst(objective);
  const terms = resolveTerms(model, ast, names);
  return { masks: linearMasks(model, terms), terms, linearOnly: !ast.diversity?.length && terms.every((t) => t.target.kind !== 'layer') };
}

/** Append the objective to a copy of `model` (already prepared with static shapes). */
export function appendObjective(model: Model, objective: ObjectiveInput, names: ObjectiveNames = {}, opts: AppendObjectiveOptions = {}): ObjectiveModel {
  const ast = objectiveAst(objective);
  if (ast.terms.length === 0) throw new FvizError('objective has no terms besides diversity: add a unit to maximize, e.g. channel(layer, c).plus(diversity(layer))');
  const terms = resolveTerms(model, ast, names);
  const m = cloneModel(model);
  const g = m.graph;
  const b = new GraphBuilder(g);
  const batch = terms[0]!.shape[0]!;
  for (const t of terms)
    if (t.shape[0] !== batch) throw new FvizError(`objective terms disagree on the batch size: [${t.shape}] vs ${batch}`);
  const setType = (name: string, dtype: 'float32' | 'float64', shape: number[]) => g.valueTypes.set(name, { dtype, shape });
  const parts: string[] = [];
  const maskInputs: NonNullable<ObjectiveModel['maskInputs']> = [];
  // Linear terms on the same tensor share one mask.
  for (const { tensor: name, shape, mask } of linearMasks(model, terms)) {
    const dtype = mask.dtype as 'float32' | 'float64';
    let maskName: string;
    if (opts.masksAsInputs) {
      maskName = b.fresh('objective_mask');
      g.inputs.push({ name: maskName, dtype, shape: [...mask.dims] });
      setType(maskName, dtype, [...mask.dims]);
      maskInputs.push({ input: maskName, tensor: name, mask });
    } else maskName = b.constant(mask, 'objective_mask');
    const prod = b.op('Mul', [name, maskName], {}, 'objective_term');
    setType(prod, dtype, shape);
    const axes = b.constant(tensor('int64', [shape.length - 1], shape.slice(1).map((_, k) => k + 1)), 'objective_axes');
    const sum = b.op('ReduceSum', [prod, axes], { keepdims: { i: 0 } }, 'objective_term');
    setType(sum, dtype, [batch]);
    parts.push(sum);
  }
  for (const t of terms) {
    if (t.target.kind !== 'layer') continue;
    const dtype = g.valueTypes.get(t.tensor)!.dtype as 'float32' | 'float64';
    const sq = b.op('Mul', [t.tensor, t.tensor], {}, 'objective_square');
    setType(sq, dtype, t.shape);
    const axes = t.shape.slice(1).map((_, k) => k + 1);
    const mean = b.op('ReduceMean', [sq], { axes: { ints: axes }, keepdims: { i: 0 } }, 'objective_term');
    setType(mean, dtype, [batch]);
    let part = mean;
    if (t.batch !== undefined) {
      const oneHot = new Array<number>(batch).fill(0);
      oneHot[t.batch] = t.weight;
      part = b.op('Mul', [mean, b.constant(tensor(dtype, [batch], oneHot))], {}, 'objective_term');
      setType(part, dtype, [batch]);
    } else if (t.weight !== 1) {
      part = b.op('Mul', [mean, b.constant(tensor(dtype, [], [t.weight]))], {}, 'objective_term');
      setType(part, dtype, [batch]);
    }
    parts.push(part);
  }
  const dtype = g.valueTypes.get(terms[0]!.tensor)!.dtype as 'float32' | 'float64';
  const perItem = parts.length === 1 ? parts[0]! : b.op('Sum', parts, {}, 'objective_sum');
  setType(perItem, dtype, [batch]);
  g.nodes.push({ name: 'objective_per_item_node', opType: 'Identity', domain: '', inputs: [perItem], outputs: [OBJECTIVE_PER_ITEM], attrs: {} });
  setType(OBJECTIVE_PER_ITEM, dtype, [batch]);
  g.nodes.push({ name: 'objective_node', opType: 'ReduceSum', domain: '', inputs: [OBJECTIVE_PER_ITEM], outputs: [OBJECTIVE], attrs: { keepdims: { i: 0 } } });
  setType(OBJECTIVE, dtype, []);
  const obj: ObjectiveModel = { model: m, scalar: OBJECTIVE, perItem: OBJECTIVE_PER_ITEM, terms };
  if (opts.masksAsInputs) obj.maskInputs = maskInputs;
  if (ast.diversity?.length) {
    const aliases = aliasesOf(model, names);
    for (const d of ast.diversity) obj.scalar = appendDiversity(obj, d.layer, d.weight, aliases);
  }
  return obj;
}
