// What a model holds, as fviz will run it: inputs, outputs, every intermediate tensor with its shape and
// producing op (the names a user passes to --objective), the op histogram, opsets, and the ops the
// gradient compiler does not cover yet.
import type { DType, Dim, Model, OpsetImport } from './ir.ts';
import { CANONICAL_OPSET, defaultOpset, sizeOf } from './ir.ts';
import { formatUncovered, uncoveredOps, type UncoveredOp } from './coverage.ts';
import { prepareModel, preparedInfo } from './prepare.ts';
import { isUnknownDim } from './shapes.ts';

export interface TensorInfo {
  name: string;
  dtype: DType | 'unknown';
  /** Dims; symbolic ones are names, dims inference could not determine are '?'. */
  shape: Dim[] | null;
}

export interface IntermediateInfo extends TensorInfo {
  /** Producing op, domain-qualified outside the default domain (e.g. 'com.microsoft.FusedConv'). */
  op: string;
  node: string;
}

export interface InspectReport {
  source: string;
  producer: string;
  irVersion: number;
  /** Opsets the file imports. */
  opsets: OpsetImport[];
  /** The default-domain opset fviz runs the graph at. */
  canonicalOpset: number;
  /** Batch size the symbolic first input dim was fixed to, if any. */
  batch?: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Every node output of the prepared graph, in topological order. */
  tensors: IntermediateInfo[];
  parameters: { initializers: number; elements: number; bytes: number };
  /** Op histogram of the prepared graph. */
  ops: Record<string, number>;
  /** Op histogram of the file as written. */
  fileOps: Record<string, number>;
  /** Shape-arithmetic nodes folded into constants, and dead nodes removed. */
  folded: number;
  removed: number;
  /** Ops outside the default ONNX domain. */
  customOps: string[];
  /** Ops whose outputs could not be typed (no shape rule, or unknown inputs). */
  untypedOps: string[];
  gradient: { available: boolean; uncovered: string[] };
  /** The uncovered ops with their nodes and the opset the file imports for their domain. */
  uncoveredNodes: UncoveredOp[];
}

export interface InspectOptions {
  /** Ops the gradient compiler covers (autodiff/inspect.ts passes the compiler's own list); absent or null: none reported. */
  coveredOps?: Iterable<string> | null;
  batch?: number;
  dims?: Record<string, number>;
  /** Height and width for dynamic spatial dims of image inputs. */
  size?: [number, number];
  source?: string;
}

function opKey(domain: string, opType: string): string {
  return domain ? `${domain}.${opType}` : opType;
}

function histogram(keys: string[]): Record<string, number> {
  const h: Record<string, number> = {};
  for (const k of [...keys].sort()) h[k] = (h[k] ?? 0) + 1;
  return h;
}

function displayShape(shape: Dim[]): Dim[] {
  return shape.map((d) => (isUnknownDim(d) ? '?' : d));
}

/** Prepare `model` leniently (as fviz would run it) and describe it. */
export function inspectModel(model: Model, opts: InspectOptions = {}): InspectReport {
  const source = opts.source ?? 'model';
  const fileOps = histogram(model.graph.nodes.map((n) => opKey(n.domain, n.opType)));
  const m = prepareModel(model, { batch: opts.batch, dims: opts.dims, size: opts.size, source, lenient: true });
  const g = m.graph;
  const info = preparedInfo(m)!;
  const typeOf = (name: string): Pick<TensorInfo, 'dtype' | 'shape'> => {
    const t = g.valueTypes.get(name);
    return t ? { dtype: t.dtype, shape: displayShape(t.shape) } : { dtype: 'unknown', shape: null };
  };
  const tensors: IntermediateInfo[] = [];
  for (const n of g.nodes)
    for (const o of n.outputs) if (o) tensors.push({ name: o, ...typeOf(o), op: opKey(n.domain, n.opType), node: n.name });
  let elements = 0;
  let bytes = 0;
  for (const t of g.initializers.values()) {
    elements += sizeOf(t.dims);
    bytes += Array.isArray(t.data) ? t.data.reduce((a, s) => a + s.length, 0) : t.data.byteLength;
  }
  const ops = histogram(g.nodes.map((n) => opKey(n.domain, n.opType)));
  const covered = opts.coveredOps == null ? undefined : new Set(opts.coveredOps);
  const symbolicBatch = model.graph.inputs.some((v) => typeof v.shape[0] === 'string');
  const uncovered = covered ? uncoveredOps(g, model.opsets, covered) : [];
  return {
    source,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    irVersion: model.irVersion,
    opsets: model.opsets.map((o) => ({ ...o })),
    canonicalOpset: defaultOpset(m) || CANONICAL_OPSET,
    batch: symbolicBatch ? opts.batch : undefined,
    inputs: g.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: displayShape(v.shape) })),
    outputs: g.outputs.map((v) => ({ name: v.name, ...typeOf(v.name) })),
    tensors,
    parameters: { initializers: g.initializers.size, elements, bytes },
    ops,
    fileOps,
    folded: info.folded,
    removed: info.removed,
    customOps: Object.keys(ops).filter((k) => g.nodes.some((n) => n.domain && opKey(n.domain, n.opType) === k)),
    untypedOps: [...new Set(info.untyped.map((n) => opKey(n.domain, n.opType)))].sort(),
    gradient: {
      available: covered !== undefined,
      uncovered: uncovered.map((u) => u.op).sort(),
    },
    uncoveredNodes: uncovered,
  };
}

// ------------------------------------------------------------------ text

function fmtShape(s: Dim[] | null): string {
  return s ? `[${s.join(', ')}]` : '?';
}

function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  return rows.map((r) => (indent + r.map((c, j) => (j === r.length - 1 ? c : c.padEnd(widths[j]!))).join('  ')).trimEnd());
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The report as aligned text for a terminal. */
export function formatInspectReport(r: InspectReport): string {
  const lines: string[] = [];
  const opsets = r.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
  lines.push(`model    ${r.source}`);
  lines.push(`producer ${r.producer || '(not recorded)'}, IR version ${r.irVersion}`);
  lines.push(`opsets   ${opsets}; runs as ai.onnx ${r.canonicalOpset}`);
  if (r.batch !== undefined) lines.push(`batch    ${r.batch} (the symbolic first input dim; --batch N changes it)`);
  lines.push('', 'inputs');
  lines.push(...table(r.inputs.map((v) => [v.name, v.dtype, fmtShape(v.shape)])));
  lines.push('', 'outputs');
  lines.push(...table(r.outputs.map((v) => [v.name, v.dtype, fmtShape(v.shape)])));
  lines.push('', `tensors (${r.tensors.length}, in execution order; pass a name to --objective)`);
  if (r.tensors.length)
    lines.push(...table([['NAME', 'OP', 'DTYPE', 'SHAPE'], ...r.tensors.map((t) => [t.name, t.op, t.dtype, fmtShape(t.shape)])]));
  lines.push('', 'ops');
  lines.push(...table(Object.entries(r.ops).map(([k, v]) => [k, String(v)])));
  lines.push('');
  const p = r.parameters;
  lines.push(`parameters  ${p.elements.toLocaleString('en-US')} in ${p.initializers} initializers (${fmtBytes(p.bytes)})`);
  if (r.folded || r.removed) lines.push(`folded      ${r.folded} constant and shape-arithmetic nodes into initializers; removed ${r.removed} unused nodes`);
  if (r.customOps.length) lines.push(`custom ops  ${r.customOps.join(', ')} (outside ai.onnx: fviz cannot differentiate them)`);
  if (r.untypedOps.length) lines.push(`no shapes   for outputs of ${r.untypedOps.join(', ')}`);
  if (!r.gradient.available) lines.push('gradient coverage: (compiler not available)');
  else if (r.gradient.uncovered.length === 0) lines.push('gradient coverage: every op is covered');
  else {
    lines.push(`gradient coverage: ${r.uncoveredNodes.length} op(s) on the data path have no gradient rule yet (objectives behind them cannot be differentiated):`);
    for (const u of r.uncoveredNodes) lines.push(`  uncovered: ${formatUncovered(u)}`);
  }
  return lines.join('\n');
}
