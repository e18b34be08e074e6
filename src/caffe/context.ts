// State of one conversion: the graph being built, what each Caffe blob currently is (SSA over in-place
// layers), static shapes, weights by layer name, and the alias table from Caffe names to tensors.
import { FvizError } from '../errors.ts';
import { GraphBuilder } from '../onnx/builder.ts';
import type { AttrValue, Graph, TensorData } from '../onnx/ir.ts';
import { sizeOf } from '../onnx/ir.ts';
import { heBlobs } from '../twins/init.ts';
import type { NetLayer } from './net.ts';

/**
 * Tensor name of version `k` of a Caffe blob written `total` times: the last version keeps the blob's own
 * name (what Caffe's net.blobs[name] holds after a forward pass, e.g. post-ReLU), earlier ones are
 * `${blob}__${k}` (e.g. conv2/3x3__0 is conv2/3x3 before its in-place ReLU).
 */
export function versionName(blob: string, k: number, total: number): string {
  return k === total - 1 ? blob : `${blob}__${k}`;
}

export interface WeightSource {
  /** Blobs of a layer, or undefined when the file has none for it. */
  get(layer: string): TensorData[] | undefined;
  /** Name for error messages. */
  source: string;
  /** Seed when weights are random (no caffemodel). */
  randomSeed?: number;
}

export class ConvertContext {
  readonly b: GraphBuilder;
  readonly shapes = new Map<string, number[]>();
  /** Caffe blob -> its current tensor. */
  private readonly current = new Map<string, string>();
  private readonly written = new Map<string, number>();
  private readonly nodeNames = new Set<string>();
  /** Caffe blob and layer names -> tensor names. Blob names win over layer names. */
  readonly layerOutputs = new Map<string, string>();
  readonly usedWeights = new Set<string>();

  constructor(
    graph: Graph,
    readonly source: string,
    private readonly writeCounts: Map<string, number>,
    readonly weights: WeightSource,
    /** Batch size of the converted graph, and the one the prototxt declares. */
    readonly batch: number,
    readonly declaredBatch: number,
  ) {
    this.b = new GraphBuilder(graph);
  }

  fail(layer: NetLayer, msg: string): never {
    throw new FvizError(`${this.source}:${layer.line}: layer '${layer.name}' (${layer.type}): ${msg}`, { subject: layer.name });
  }

  /** The tensor a layer reads for a bottom blob. */
  input(layer: NetLayer, blob: string): string {
    const t = this.current.get(blob);
    if (t === undefined)
      this.fail(layer, `bottom '${blob}' is not produced by any earlier layer or input`);
    return t;
  }

  /** The current tensor of a blob, if any layer or input has produced it. */
  tensorOf(blob: string): string | undefined {
    return this.current.get(blob);
  }

  shape(tensor: string): number[] {
    const s = this.shapes.get(tensor);
    if (!s) throw new Error(`internal: no shape for ${tensor}`);
    return s;
  }

  /** Claim the tensor name for the next version of a top blob. */
  output(blob: string, shape: number[]): string {
    const k = this.written.get(blob) ?? 0;
    this.written.set(blob, k + 1);
    const name = this.b.fresh(versionName(blob, k, this.writeCounts.get(blob) ?? 1));
    this.current.set(blob, name);
    this.setShape(name, shape);
    return name;
  }

  setShape(tensor: string, shape: number[]): void {
    this.shapes.set(tensor, shape);
    this.b.setType(tensor, { dtype: 'float32', shape: [...shape] });
  }

  /** An intermediate tensor of a layer that lowers to several nodes. */
  temp(base: string, shape: number[]): string {
    const name = this.b.fresh(base);
    this.setShape(name, shape);
    return name;
  }

  /** Append a node with an exact, unique node name (the Caffe layer name for the layer's main node). */
  node(name: string, opType: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): void {
    let n = name;
    for (let i = 1; this.nodeNames.has(n); i++) n = `${name}__${i}`;
    this.nodeNames.add(n);
    this.b.graph.nodes.push({ name: n, opType, domain: '', inputs, outputs, attrs });
  }

  initializer(base: string, t: TensorData): string {
    const name = this.b.fresh(base);
    this.b.graph.initializers.set(name, t);
    this.b.setType(name, { dtype: t.dtype, shape: [...t.dims] });
    return name;
  }

  /** An int64 vector constant (shapes, slice bounds). */
  int64s(base: string, values: number[]): string {
    return this.initializer(base, { dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
  }

  scalar(base: string, v: number): string {
    return this.initializer(base, { dtype: 'float32', dims: [], data: Float32Array.of(v) });
  }

  /**
   * A layer's blobs reshaped to the layouts the prototxt implies (V1 files store 4-D num/channels/height/width
   * shapes, e.g. 1x1xNxK for an inner product). Random He-scaled blobs when there is no weights file.
   */
  layerBlobs(layer: NetLayer, expected: number[][], fanIn: number): TensorData[] {
    const got = this.weights.get(layer.name);
    if (got === undefined) {
      if (this.weights.randomSeed !== undefined) {
        const [w, bias] = expected;
        const blobs = heBlobs(this.weights.randomSeed, layer.name, w!, bias ? sizeOf(bias) : 0, fanIn);
        return blobs.map((t, i) => ({ ...t, dims: expected[i]! }));
      }
      this.fail(layer, `${this.weights.source} has no weights for this layer`);
    }
    this.usedWeights.add(layer.name);
    if (got.length < expected.length)
      this.fail(layer, `${this.weights.source} has ${got.length} blob(s) for this layer, the prototxt needs ${expected.length}`);
    return expected.map((dims, i) => {
      const t = got[i]!;
      if (sizeOf(t.dims) !== sizeOf(dims))
        this.fail(
          layer,
          `${this.weights.source} blob ${i} has shape [${t.dims.join(', ')}] but the prototxt needs [${dims.join(', ')}]`,
        );
      return { dtype: 'float32', dims, data: t.data };
    });
  }
}
