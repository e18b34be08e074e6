// The single entry point the rest of fviz uses to get a model ready: normalized to opset 17, symbolic
// input dims fixed, shape arithmetic folded, every value typed, nodes in topological order.
import { preparedOnce } from './prepare-memo.ts';
import { FvizError } from '../errors.ts';
import type { Dim, Model, Node } from './ir.ts';
import { isStaticShape } from './ir.ts';
import { readModel } from './proto.ts';
import { normalizeModel } from './normalize.ts';
import { foldConstants } from './fold.ts';
import { sortGraph } from './topo.ts';
import { fixSpatialDims } from './specialize.ts';

export interface PrepareOptions {
  /** Value for the symbolic first dim of every graph input (the batch). */
  batch?: number;
  /** Values for named symbolic dims of graph inputs, e.g. { height: 224 }. */
  dims?: Record<string, number>;
  /** Image size (height, width) for the spatial dims of 4-D inputs that are dynamic (symbolic or unnamed). */
  size?: [number, number];
  /** Name of the model in error messages (usually its path). */
  source?: string;
  /**
   * Keep going past nodes without a shape rule (custom domains, rare ops), leaving their outputs as the
   * file typed them; `fviz inspect` uses this to report on models the compiler cannot take yet.
   */
  lenient?: boolean;
}

export interface PreparedInfo {
  /** Nodes replaced by initializers. */
  folded: number;
  /** Nodes removed because nothing used them. */
  removed: number;
  /** Nodes whose outputs have no inferred type (lenient mode). */
  untyped: Node[];
}

const prepared = new WeakMap<Model, PreparedInfo>();

/** What preparation did to a model returned by prepareModel. */
export function preparedInfo(model: Model): PreparedInfo | undefined {
  return prepared.get(model);
}

function checkDim(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) throw new FvizError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/** Replace symbolic dims of the graph inputs: the first by `batch`, named ones by `dims`. */
export function fixInputDims(model: Model, batch?: number, dims: Record<string, number> = {}): void {
  if (batch !== undefined) checkDim(batch, 'batch size');
  for (const [k, v] of Object.entries(dims)) checkDim(v, `dim '${k}'`);
  const g = model.graph;
  for (const input of g.inputs) {
    input.shape = input.shape.map((d: Dim, i) => {
      if (typeof d === 'number') return d;
      if (d in dims) return dims[d]!;
      if (i === 0 && batch !== undefined) return batch;
      return d;
    });
    g.valueTypes.set(input.name, { dtype: input.dtype, shape: [...input.shape] });
  }
}

/**
 * Clone, normalize to opset 17, fix symbolic input dims, fold constants while inferring every value's
 * type, and order the nodes topologically. When all input dims are known, every value of the result has
 * a static shape. The input model is not modified.
 */
export function prepareModel(model: Model, opts: PrepareOptions = {}): Model {
  const m = normalizeModel(model, { source: opts.source });
  if (opts.size) fixSpatialDims(m, opts.size, opts.source);
  fixInputDims(m, opts.batch, opts.dims);
  const g = m.graph;
  // Types from the file's value_info may be stale or symbolic; inference recomputes them from the inputs.
  const declared = new Map(g.valueTypes);
  g.valueTypes.clear();
  for (const v of g.inputs) g.valueTypes.set(v.name, { dtype: v.dtype, shape: [...v.shape] });
  const res = foldConstants(g, { lenient: opts.lenient });
  for (const n of res.untyped)
    for (const o of n.outputs) {
      const t = declared.get(o);
      if (o && t && !g.valueTypes.has(o)) g.valueTypes.set(o, t);
    }
  for (const o of g.outputs) {
    const t = g.valueTypes.get(o.name);
    if (t) {
      o.dtype = t.dtype;
      o.shape = [...t.shape];
    }
  }
  sortGraph(g);
  prepared.set(m, { folded: res.folded, removed: res.removed, untyped: res.untyped });
  return m;
}

/** readModel + prepareModel. */
export function loadModel(path: string, opts: Omit<PrepareOptions, 'source'> = {}): Model {
  return prepareModel(readModel(path), { ...opts, source: path });
}

/** Whether every value of a prepared model has a static shape. */
export function fullyStatic(model: Model): boolean {
  const g = model.graph;
  for (const n of g.nodes)
    for (const o of n.outputs) {
      const t = o ? g.valueTypes.get(o) : undefined;
      if (o && (!t || !isStaticShape(t.shape))) return false;
    }
  return true;
}

/**
 * The classifier prepared at batch `batch`, also when its file fixes the batch dim (Caffe conversions and
 * twins say 1): the first input dim is made symbolic first. A graph that bakes the batch into a Reshape
 * cannot be rebatched; the error says to use --batch 1.
 */
export function loadAtBatch(path: string, batch: number, size?: [number, number]): Model {
  return preparedOnce(path, ['atBatch', batch, size], () => loadAtBatchUncached(path, batch, size));
}

function loadAtBatchUncached(path: string, batch: number, size?: [number, number]): Model {
  const raw = readModel(path);
  for (const input of raw.graph.inputs) if (input.shape.length > 0 && input.shape[0] !== batch) input.shape[0] = 'batch';
  try {
    return prepareModel(raw, { batch, size, source: path });
  } catch (e) {
    if (batch === 1 || !(e instanceof FvizError)) throw e;
    throw new FvizError(`${path} does not run at batch ${batch} (${e.message}); use --batch 1`, { cause: e });
  }
}
