// What a gradient rule sees: the forward node's values and their static types, the upstream gradients of
// its outputs, and a builder to emit the backward nodes with their types inferred.
import { FvizError } from '../errors.ts';
import { GraphBuilder } from '../onnx/builder.ts';
import type { AttrValue, DType, Graph, Node, TensorData, ValueType } from '../onnx/ir.ts';
import { sizeOf } from '../onnx/ir.ts';
import { inferNode } from '../onnx/shapes.ts';
import { tensor } from '../onnx/tensor.ts';
import { dtypeCode } from '../onnx/proto.ts';
import { noStaticShapeError } from '../onnx/specialize.ts';

export class GradContext {
  readonly b: GraphBuilder;
  readonly graph: Graph;
  /** Gradient contributions per forward value, summed on first read. */
  private contributions = new Map<string, string[]>();
  private summed = new Map<string, string>();
  /** Forward values that carry a gradient (depend on a differentiated value, and are floating point). */
  readonly active: Set<string>;

  constructor(graph: Graph, active: Set<string>) {
    this.graph = graph;
    this.b = new GraphBuilder(graph);
    this.active = active;
  }

  type(name: string): ValueType {
    const t = this.graph.valueTypes.get(name);
    if (!t) throw new FvizError(`internal: no type known for value '${name}'`);
    return t;
  }

  /** Static shape; throws if any dimension is symbolic. */
  shape(name: string): number[] {
    const s = this.type(name).shape;
    if (!s.every((d): d is number => typeof d === 'number'))
      throw noStaticShapeError(this.graph, name, `value '${name}'`);
    return s;
  }

  dtype(name: string): DType {
    return this.type(name).dtype;
  }

  rank(name: string): number {
    return this.type(name).shape.length;
  }

  /** The constant value of an initializer, if `name` is one. */
  constValue(name: string): TensorData | undefined {
    return name ? this.graph.initializers.get(name) : undefined;
  }

  /** Whether a gradient is wanted for this forward value. */
  needs(name: string): boolean {
    return !!name && this.active.has(name);
  }

  /** The upstream gradient of a forward output, or undefined when it is zero. */
  grad(output: string): string | undefined {
    const done = this.summed.get(output);
    if (done) return done;
    const list = this.contributions.get(output);
    if (!list || list.length === 0) return undefined;
    const g = list.length === 1 ? list[0]! : this.emit('Sum', list, {}, `grad_${output}`);
    this.summed.set(output, g);
    return g;
  }

  /** Add a contribution to the gradient of a forward value (ignored when the value needs none). */
  addGrad(input: string, g: string): void {
    if (!this.needs(input)) return;
    if (this.summed.has(input)) throw new FvizError(`internal: gradient of '${input}' read before all contributions arrived`);
    const want = this.shape(input);
    const have = this.shape(g);
    if (want.length !== have.length || want.some((d, i) => d !== have[i]))
      throw new FvizError(`internal: gradient for '${input}' has shape [${have}], expected [${want}]`);
    const list = this.contributions.get(input);
    if (list) list.push(g);
    else this.contributions.set(input, [g]);
  }

  /** Emit one node, infer its output types, return its outputs. */
  emitN(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs = 1, base?: string): string[] {
    const outs = this.b.node(opType, inputs, attrs, outputs, base);
    const node = this.graph.nodes[this.graph.nodes.length - 1]!;
    const inTypes = inputs.map((i) => (i ? this.graph.valueTypes.get(i) : undefined));
    const inConsts = inputs.map((i) => (i ? this.graph.initializers.get(i) : undefined));
    const types = inferNode(node, inTypes, inConsts);
    outs.forEach((o, k) => {
      const t = types[k];
      if (t) this.graph.valueTypes.set(o, t);
    });
    return outs;
  }

  emit(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base?: string): string {
    return this.emitN(opType, inputs, attrs, 1, base)[0]!;
  }

  /** A constant tensor in the graph. */
  constant(t: TensorData, base = 'c'): string {
    return this.b.constant(t, base);
  }

  /** A scalar constant of the dtype of `like`. */
  scalar(value: number, like: string): string {
    return this.constant(tensor(this.dtype(like), [], [value]));
  }

  ints(values: number[]): string {
    return this.constant(tensor('int64', [values.length], values));
  }

  /** Reduce a broadcast gradient back to `shape` (sum over broadcast axes, then reshape). */
  unbroadcast(g: string, shape: number[]): string {
    const gs = this.shape(g);
    if (gs.length === shape.length && gs.every((d, i) => d === shape[i])) return g;
    const offset = gs.length - shape.length;
    const axes: number[] = [];
    for (let i = 0; i < gs.length; i++) {
      const target = i < offset ? 1 : shape[i - offset]!;
      if (target === 1 && gs[i] !== 1) axes.push(i);
      else if (target !== gs[i]) throw new FvizError(`internal: cannot unbroadcast [${gs}] to [${shape}]`);
    }
    let r = g;
    if (axes.length) r = this.emit('ReduceSum', [g, this.ints(axes)], { keepdims: { i: 1 } });
    if (offset > 0 || sizeOf(this.shape(r)) !== sizeOf(shape) || this.shape(r).length !== shape.length)
      r = this.emit('Reshape', [r, this.ints(shape)]);
    return r;
  }

  /** Reshape `g` to `shape` when it differs. */
  reshapeTo(g: string, shape: number[]): string {
    const gs = this.shape(g);
    if (gs.length === shape.length && gs.every((d, i) => d === shape[i])) return g;
    return this.emit('Reshape', [g, this.ints(shape)]);
  }

  /** Cast `v` (e.g. a boolean mask) to the dtype of `like`. */
  castLike(v: string, like: string): string {
    if (this.dtype(v) === this.dtype(like)) return v;
    return this.emit('Cast', [v], { to: { i: dtypeCode(this.dtype(like)) } });
  }

  /** Zeros shaped like a forward value. */
  zerosLike(name: string): string {
    const shape = this.shape(name);
    const z = this.constant(tensor(this.dtype(name), [], [0]));
    return this.emit('Expand', [z, this.ints(shape)]);
  }
}

/** A gradient rule: reads the upstream gradients of `node`'s outputs and adds gradients to its inputs. */
export type GradRule = (node: Node, ctx: GradContext) => void;
