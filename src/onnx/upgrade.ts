// The inverse of normalization, for testing it: an opset-17 model rewritten into the forms exporters write
// at opsets 18-21, so a corpus exported by an older PyTorch also checks what the newer exporter emits.
//   18: reductions take their axes as an input; Split writes num_outputs; Pad names the padded axes; Resize
//       names the resized axes; torch's GroupNorm pattern (Reshape, InstanceNormalization, Reshape) becomes
//       GroupNormalization with per-group Scale and B.
//   20: torch's GELU patterns (Erf, and the tanh approximation) become Gelu; GridSample's mode names; DFT's
//       axis input.
//   21: GroupNormalization takes per-channel Scale and B (the following Mul and Add fold into it).
// LayerNormalization (17) stays. The result computes the same function (onnxruntime runs both).
import { FvizError } from '../errors.ts';
import { GraphBuilder } from './builder.ts';
import type { Graph, Model, Node, TensorData } from './ir.ts';
import { defaultOpset } from './ir.ts';
import { constantValue } from './fold.ts';
import { prepareModel } from './prepare.ts';
import { tensor, toNumbers } from './tensor.ts';

export const UPGRADE_MIN_OPSET = 18;
export const UPGRADE_MAX_OPSET = 21;

export interface UpgradeResult {
  model: Model;
  /** How many nodes took each newer form, e.g. { 'ReduceMean axes input': 3, Gelu: 2 }. */
  rewritten: Record<string, number>;
}

const REDUCE_WITH_ATTR = [
  'ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare',
];

/** The IR version that opset needs at least (onnxruntime refuses older pairs). */
function irVersionFor(opset: number): number {
  return opset >= 21 ? 10 : opset >= 19 ? 9 : 8;
}

class Upgrader {
  readonly g: Graph;
  readonly b: GraphBuilder;
  readonly producer = new Map<string, Node>();
  readonly readers = new Map<string, Node[]>();
  readonly outputs: Set<string>;
  readonly removed = new Set<Node>();
  readonly rewritten: Record<string, number> = {};

  constructor(
    graph: Graph,
    readonly opset: number,
  ) {
    this.g = graph;
    this.b = new GraphBuilder(graph);
    this.outputs = new Set(graph.outputs.map((o) => o.name));
    for (const n of graph.nodes) {
      for (const o of n.outputs) if (o) this.producer.set(o, n);
      for (const i of n.inputs) if (i) this.readers.set(i, [...(this.readers.get(i) ?? []), n]);
    }
  }

  count(what: string): void {
    this.rewritten[what] = (this.rewritten[what] ?? 0) + 1;
  }

  /** The constant value of `name`: an initializer, a Constant node, or an Unsqueeze/Reshape/Identity of one. */
  constOf(name: string | undefined): TensorData | undefined {
    if (!name) return undefined;
    const init = this.g.initializers.get(name);
    if (init) return init;
    const p = this.producer.get(name);
    if (!p) return undefined;
    if (p.opType === 'Constant') return constantValue(p);
    if (p.opType === 'Identity' || p.opType === 'Unsqueeze' || p.opType === 'Reshape' || p.opType === 'Squeeze') {
      const v = this.constOf(p.inputs[0]);
      return v ? { ...v, dims: [v.data.length] } : undefined; // flattened: the callers read values only
    }
    return undefined;
  }

  constNumbers(name: string | undefined): number[] | undefined {
    const c = this.constOf(name);
    return c && !Array.isArray(c.data) ? toNumbers(c) : undefined;
  }

  /** The only reader of `name`, when it has exactly one and is no graph output. */
  only(name: string): Node | undefined {
    const r = this.readers.get(name) ?? [];
    return r.length === 1 && !this.outputs.has(name) && !this.removed.has(r[0]!) ? r[0] : undefined;
  }

  /** For a commutative binary `node` of type `op` with one operand equal to `value` (within 1e-6): the other operand. */
  otherOperand(node: Node | undefined, op: string, value: number): string | undefined {
    if (!node || node.opType !== op || node.inputs.length !== 2) return undefined;
    for (const k of [0, 1]) {
      const c = this.constNumbers(node.inputs[k]);
      if (c && c.length === 1 && Math.abs(c[0]! - value) <= 1e-6 * Math.max(1, Math.abs(value))) return node.inputs[1 - k];
    }
    return undefined;
  }

  ints(values: number[], base: string): string {
    return this.b.constant(tensor('int64', [values.length], values), base);
  }

  // ---------------------------------------------------------------- opset 18

  reduce(n: Node): void {
    const axes = n.attrs['axes']?.ints;
    if (!axes) return; // all axes: the same node
    const attrs = { ...n.attrs };
    delete attrs['axes'];
    n.attrs = attrs;
    n.inputs = [n.inputs[0]!, this.ints(axes, `${n.name}_axes`)];
    this.count(`${n.opType} axes input`);
  }

  split(n: Node): void {
    const k = n.outputs.length;
    const sizes = this.constNumbers(n.inputs[1]);
    if (!n.inputs[1]) {
      n.attrs = { ...n.attrs, num_outputs: { i: k } };
      this.count('Split num_outputs');
      return;
    }
    if (!sizes || sizes.length !== k) return;
    // num_outputs splits d into chunks of ceil(d / k), the last one smaller.
    const d = sizes.reduce((a, s) => a + s, 0);
    const chunk = Math.ceil(d / k);
    if (!sizes.every((s, i) => s === (i < k - 1 ? chunk : d - chunk * (k - 1)))) return;
    n.inputs = [n.inputs[0]!];
    n.attrs = { ...n.attrs, num_outputs: { i: k } };
    this.count('Split num_outputs');
  }

  pad(n: Node): void {
    const pads = this.constNumbers(n.inputs[1]);
    if (!pads || n.inputs[3]) return;
    const r = pads.length / 2;
    const axes = [...Array(r).keys()].filter((a) => pads[a] !== 0 || pads[a + r] !== 0);
    if (axes.length === r || axes.length === 0) return;
    const short = [...axes.map((a) => pads[a]!), ...axes.map((a) => pads[a + r]!)];
    // Negative axes, as the newer exporter writes them.
    n.inputs = [n.inputs[0]!, this.ints(short, `${n.name}_pads`), n.inputs[2] ?? '', this.ints(axes.map((a) => a - r), `${n.name}_axes`)];
    this.count('Pad axes');
  }

  resize(n: Node): void {
    const scales = this.constOf(n.inputs[2]);
    if (!scales || scales.data.length === 0 || n.inputs[3] || (this.constOf(n.inputs[1])?.data.length ?? 0) > 0) return;
    const s = toNumbers(scales);
    const first = s.findIndex((v) => v !== 1);
    if (first <= 0) return;
    const axes = [...Array(s.length - first).keys()].map((i) => i + first);
    n.inputs = [n.inputs[0]!, '', this.b.constant(tensor('float32', [axes.length], s.slice(first)), `${n.name}_scales`)];
    n.attrs = { ...n.attrs, axes: { ints: axes }, antialias: { i: 0 }, keep_aspect_ratio_policy: { s: 'stretch' } };
    this.count('Resize axes');
  }

  /**
   * torch.onnx.export's group_norm: Reshape(x, [0, G, -1]) -> InstanceNormalization(Scale_G, B_G) ->
   * Reshape(., Shape(x)) [-> Mul(W) -> Add(B)]. Opset 18 keeps the per-channel Mul and Add after a
   * GroupNormalization with the per-group Scale and B; opset 21 folds them into its per-channel Scale and B.
   */
  groupNorm(inst: Node): void {
    const grouped = this.producer.get(inst.inputs[0]!);
    if (!grouped || grouped.opType !== 'Reshape' || this.only(grouped.outputs[0]!) !== inst) return;
    const x = grouped.inputs[0]!;
    const target = this.constNumbers(grouped.inputs[1]);
    const sg = this.constNumbers(inst.inputs[1]);
    const bg = this.constNumbers(inst.inputs[2]);
    if (!target || target.length !== 3 || target[2] !== -1 || !sg || !bg) return;
    const G = sg.length;
    if (target[1] !== G || bg.length !== G) return;
    const back = this.only(inst.outputs[0]!);
    if (!back || back.opType !== 'Reshape') return;
    // Back to x's shape: Shape(x), or the constant it folded to.
    const shapeOf = this.producer.get(back.inputs[1]!);
    const xShape = this.g.valueTypes.get(x)?.shape;
    const folded = this.constNumbers(back.inputs[1]);
    const isShapeOfX = shapeOf?.opType === 'Shape' && shapeOf.inputs[0] === x && Object.keys(shapeOf.attrs).length === 0;
    if (!isShapeOfX && !(folded && xShape && folded.length === xShape.length && folded.every((d, i) => d === xShape[i]))) return;
    const epsilon = inst.attrs['epsilon']?.f ?? 1e-5;
    const attrs = { num_groups: { i: G }, epsilon: { f: epsilon } };
    const replaced = [grouped, inst, back];
    let y = back.outputs[0]!;
    let scale: string;
    let bias: string;
    const dtype = this.constOf(inst.inputs[1])!.dtype;
    if (this.opset < 21) {
      scale = inst.inputs[1]!;
      bias = inst.inputs[2]!;
    } else {
      // Per-channel: the following Mul and Add when the group affine is the identity, else Scale_G repeated.
      const mul = this.only(y);
      const add = mul && this.only(mul.outputs[0]!);
      const w = mul?.opType === 'Mul' ? this.constNumbers(mul.inputs.find((i) => i !== y)) : undefined;
      const bb = add?.opType === 'Add' ? this.constNumbers(add.inputs.find((i) => i !== mul!.outputs[0])) : undefined;
      const identity = sg.every((v) => v === 1) && bg.every((v) => v === 0);
      if (identity && w && bb && w.length === bb.length && w.length % G === 0 && w.length > 1) {
        scale = this.b.constant(tensor(dtype, [w.length], w), `${inst.name}_scale`);
        bias = this.b.constant(tensor(dtype, [bb.length], bb), `${inst.name}_bias`);
        replaced.push(mul!, add!);
        y = add!.outputs[0]!;
      } else {
        const C = this.g.valueTypes.get(x)?.shape[1] ?? this.g.inputs.find((v) => v.name === x)?.shape[1];
        if (typeof C !== 'number' || C % G !== 0) return;
        const per = (v: number[]) => Array.from({ length: C }, (_, c) => v[Math.floor(c / (C / G))]!);
        scale = this.b.constant(tensor(dtype, [C], per(sg)), `${inst.name}_scale`);
        bias = this.b.constant(tensor(dtype, [C], per(bg)), `${inst.name}_bias`);
      }
    }
    for (const n of replaced) this.removed.add(n);
    if (shapeOf && isShapeOfX && (this.readers.get(shapeOf.outputs[0]!) ?? []).every((r) => r === back)) this.removed.add(shapeOf);
    this.g.nodes.splice(this.g.nodes.indexOf(inst), 0, {
      name: this.b.fresh(`${inst.name}_GroupNormalization`),
      opType: 'GroupNormalization',
      domain: '',
      inputs: [x, scale, bias],
      outputs: [y],
      attrs,
    });
    this.count(`GroupNormalization-${this.opset >= 21 ? 21 : 18}`);
  }

  // ---------------------------------------------------------------- opset 20

  /** GELU as torch exports it: x * (Erf(x / sqrt 2) + 1) * 0.5 (or x * 0.5 first). */
  geluErf(erf: Node): void {
    const div = this.producer.get(erf.inputs[0]!);
    if (!div || this.only(div.outputs[0]!) !== erf) return;
    let x: string | undefined;
    if (div.opType === 'Div' && this.constNumbers(div.inputs[1])?.length === 1 && Math.abs(this.constNumbers(div.inputs[1])![0]! - Math.SQRT2) < 1e-6)
      x = div.inputs[0];
    else x = this.otherOperand(div, 'Mul', Math.SQRT1_2);
    if (!x) return;
    const add = this.only(erf.outputs[0]!);
    if (this.otherOperand(add, 'Add', 1) !== erf.outputs[0]) return;
    this.finishGelu([div, erf, add!], x, add!.outputs[0]!, 'none');
  }

  /** The tanh approximation: 0.5 * x * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x * (x * x)))). */
  geluTanh(tanh: Node): void {
    const scaled = this.producer.get(tanh.inputs[0]!);
    const inner = this.otherOperand(scaled, 'Mul', Math.sqrt(2 / Math.PI));
    const sum = inner ? this.producer.get(inner) : undefined;
    if (!sum || sum.opType !== 'Add' || !scaled || this.only(scaled.outputs[0]!) !== tanh || this.only(inner!) !== scaled) return;
    for (const k of [0, 1]) {
      const x = sum.inputs[k]!;
      const kappaMul = this.producer.get(sum.inputs[1 - k]!);
      const cubeName = this.otherOperand(kappaMul, 'Mul', 0.044715);
      const cube = cubeName ? this.producer.get(cubeName) : undefined;
      if (!cube || cube.opType !== 'Mul' || this.only(cubeName!) !== kappaMul || this.only(kappaMul!.outputs[0]!) !== sum) continue;
      const [p, q] = cube.inputs as [string, string];
      const sq = this.producer.get(p === x ? q : p);
      if (!(p === x || q === x) || !sq || sq.opType !== 'Mul' || sq.inputs[0] !== x || sq.inputs[1] !== x || this.only(sq.outputs[0]!) !== cube) continue;
      const add = this.only(tanh.outputs[0]!);
      if (this.otherOperand(add, 'Add', 1) !== tanh.outputs[0]) return;
      this.finishGelu([sq, cube, kappaMul!, sum, scaled, tanh, add!], x, add!.outputs[0]!, 'tanh');
      return;
    }
  }

  /** After `onePlus` (1 + Erf or 1 + Tanh): Mul(Mul(x, onePlus), 0.5), or Mul(Mul(x, 0.5), onePlus). */
  finishGelu(chain: Node[], x: string, onePlus: string, approximate: string): void {
    const m1 = this.only(onePlus);
    if (!m1 || m1.opType !== 'Mul') return;
    let last: Node | undefined;
    let parts: Node[];
    const other = m1.inputs[0] === onePlus ? m1.inputs[1]! : m1.inputs[0]!;
    if (other === x) {
      last = this.only(m1.outputs[0]!);
      if (this.otherOperand(last, 'Mul', 0.5) !== m1.outputs[0]) return;
      parts = [m1, last!];
    } else {
      const half = this.producer.get(other);
      if (this.otherOperand(half, 'Mul', 0.5) !== x || this.only(other) !== m1) return;
      last = m1;
      parts = [half!, m1];
    }
    const nodes = [...chain, ...parts];
    for (const n of nodes) this.removed.add(n);
    const at = Math.max(...nodes.map((n) => this.g.nodes.indexOf(n)));
    this.g.nodes.splice(at, 0, {
      name: this.b.fresh(`${last!.name}_Gelu`),
      opType: 'Gelu',
      domain: '',
      inputs: [x],
      outputs: [last!.outputs[0]!],
      attrs: approximate === 'tanh' ? { approximate: { s: 'tanh' } } : {},
    });
    this.count(approximate === 'tanh' ? 'Gelu tanh' : 'Gelu');
  }

  gridSample(n: Node): void {
    const mode = n.attrs['mode']?.s ?? 'bilinear';
    const renamed = mode === 'bilinear' ? 'linear' : mode === 'bicubic' ? 'cubic' : mode;
    n.attrs = { ...n.attrs, mode: { s: renamed } };
    this.count('GridSample mode');
  }

  dft(n: Node): void {
    const axis = n.attrs['axis']?.i ?? 1;
    const attrs = { ...n.attrs };
    delete attrs['axis'];
    n.attrs = attrs;
    n.inputs = [n.inputs[0]!, n.inputs[1] ?? '', this.b.constant(tensor('int64', [], [axis]), `${n.name}_axis`)];
    this.count('DFT axis input');
  }

  run(): void {
    const nodes = [...this.g.nodes];
    for (const n of nodes) {
      if (n.domain !== '' || this.removed.has(n)) continue;
      if (REDUCE_WITH_ATTR.includes(n.opType)) this.reduce(n);
      else if (n.opType === 'Split') this.split(n);
      else if (n.opType === 'Pad') this.pad(n);
      else if (n.opType === 'Resize') this.resize(n);
      else if (n.opType === 'InstanceNormalization') this.groupNorm(n);
      else if (this.opset >= 20 && n.opType === 'Erf') this.geluErf(n);
      else if (this.opset >= 20 && n.opType === 'Tanh') this.geluTanh(n);
      else if (this.opset >= 20 && n.opType === 'GridSample') this.gridSample(n);
      else if (this.opset >= 20 && n.opType === 'DFT') this.dft(n);
    }
    this.g.nodes = this.g.nodes.filter((n) => !this.removed.has(n));
  }
}

/**
 * `model` (opset 17 or older) prepared as fviz runs it (normalized, shape arithmetic folded; symbolic input
 * dims stay symbolic), then rewritten into the forms of `opset` (18-21). Patterns it does not recognize
 * stay as they are, which every newer opset still reads.
 */
export function upgradeModel(model: Model, opset: number, source = 'model'): UpgradeResult {
  if (!Number.isInteger(opset) || opset < UPGRADE_MIN_OPSET || opset > UPGRADE_MAX_OPSET)
    throw new FvizError(`upgrade: opset ${opset} is not one fviz writes; choose ${UPGRADE_MIN_OPSET}-${UPGRADE_MAX_OPSET}`);
  const from = defaultOpset(model);
  if (from > 17) throw new FvizError(`upgrade: the model is already at opset ${from}; give an opset-17 (or older) model`);
  // Normalized and folded first, so that shape arithmetic (pads, split sizes) is constant.
  const m = prepareModel(model, { source });
  if (m.graph.nodes.some((n) => n.domain === '' && Object.values(n.attrs).some((a) => a.g)))
    throw new FvizError('upgrade: models with subgraphs (If, Loop) are not upgraded');
  const u = new Upgrader(m.graph, opset);
  u.run();
  m.opsets = [{ domain: '', version: opset }, ...m.opsets.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx')];
  m.irVersion = Math.max(m.irVersion, irVersionFor(opset));
  return { model: m, rewritten: u.rewritten };
}
