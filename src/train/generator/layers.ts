// Emitting the layers of the generator and the discriminator into a graph: fully connected, convolution,
// transposed convolution, each with its weights as named initializers (the trained values, or zeros to be
// fed later), and the parameter list with the He-normal scale each weight is initialized with.
import type { Dim, Graph } from '../../onnx/ir.ts';
import { GraphBuilder } from '../../onnx/builder.ts';
import { tensor } from '../../onnx/tensor.ts';
import { FvizError } from '../../errors.ts';
import { Rng } from '../../util/rng.ts';
import type { ParamInfo } from '../net.ts';

export interface LayerParam extends ParamInfo {
  /** Standard deviation of the initial weights (0: zeros, as biases). */
  std: number;
}

/** He-normal gain for a leaky ReLU of slope `a` after the layer: 2 / (1 + a^2). */
export const leakyGain = (slope: number) => 2 / (1 + slope * slope);

export class LayerEmitter {
  readonly g: Graph;
  readonly b: GraphBuilder;
  readonly params: LayerParam[] = [];
  private readonly values?: Map<string, Float32Array>;

  /** `values`: trained weights to put in the initializers; without, zeros (fed as inputs at run time). */
  constructor(g: Graph, values?: Map<string, Float32Array>) {
    this.g = g;
    this.b = new GraphBuilder(g);
    this.values = values;
  }

  private param(name: string, role: LayerParam['role'], dims: number[], std: number): string {
    if (this.g.initializers.has(name)) throw new FvizError(`internal: parameter '${name}' defined twice`);
    const n = dims.reduce((a, d) => a * d, 1);
    let data = this.values?.get(name);
    if (this.values && !data) throw new FvizError(`the checkpoint has no parameter '${name}': it was trained with another architecture`);
    if (data && data.length !== n) throw new FvizError(`parameter '${name}' has ${data.length} values, the architecture needs ${n}`);
    data ??= new Float32Array(n);
    this.g.initializers.set(name, { dtype: 'float32', dims, data });
    this.g.valueTypes.set(name, { dtype: 'float32', shape: [...dims] });
    this.b.fresh(name);
    this.params.push({ name, role, dims, std });
    return name;
  }

  /** Gemm with weights [out, in]; `gain` scales the initial weights (2 before a ReLU, 1 before a linear output). */
  fc(name: string, x: string, inF: number, outF: number, gain: number): string {
    const w = this.param(`${name}/W`, 'fc', [outF, inF], Math.sqrt(gain / inF));
    const bias = this.param(`${name}/b`, 'bias', [outF], 0);
    return this.b.node('Gemm', [x, w, bias], { transB: { i: 1 } }, [name])[0]!;
  }

  conv(name: string, x: string, cin: number, cout: number, kernel: number, stride: number, pad: number, gain: number): string {
    const w = this.param(`${name}/W`, 'conv', [cout, cin, kernel, kernel], Math.sqrt(gain / (cin * kernel * kernel)));
    const bias = this.param(`${name}/b`, 'bias', [cout], 0);
    const attrs = { kernel_shape: { ints: [kernel, kernel] }, strides: { ints: [stride, stride] }, pads: { ints: [pad, pad, pad, pad] } };
    return this.b.node('Conv', [x, w, bias], attrs, [name])[0]!;
  }

  /** ConvTranspose with weights [in, out, k, k]; each output sums cin * k^2 / stride^2 inputs. */
  deconv(name: string, x: string, cin: number, cout: number, kernel: number, stride: number, pad: number, gain: number): string {
    const fanIn = (cin * kernel * kernel) / (stride * stride);
    const w = this.param(`${name}/W`, 'conv', [cin, cout, kernel, kernel], Math.sqrt(gain / fanIn));
    const bias = this.param(`${name}/b`, 'bias', [cout], 0);
    const attrs = { kernel_shape: { ints: [kernel, kernel] }, strides: { ints: [stride, stride] }, pads: { ints: [pad, pad, pad, pad] } };
    return this.b.node('ConvTranspose', [x, w, bias], attrs, [name])[0]!;
  }

  leaky(name: string, x: string, slope: number): string {
    return this.b.node('LeakyRelu', [x], { alpha: { f: slope } }, [name])[0]!;
  }

  reshape(name: string, x: string, dims: number[]): string {
    return this.b.node('Reshape', [x, this.b.constant(tensor('int64', [dims.length], dims), `${name}/shape`)], {}, [name])[0]!;
  }

  /** Adds a graph input (used for the standalone models). */
  input(name: string, shape: Dim[]): string {
    this.g.inputs.push({ name, dtype: 'float32', shape });
    this.g.valueTypes.set(name, { dtype: 'float32', shape: [...shape] });
    this.b.fresh(name);
    return name;
  }
}

/** Initial values: normal with each parameter's std (zeros for biases). */
export function initLayerParams(params: LayerParam[], seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  for (const p of params) {
    const v = new Float32Array(p.dims.reduce((a, d) => a * d, 1));
    if (p.std > 0) rng.fillNormal(v, p.std);
    out.set(p.name, v);
  }
  return out;
}

/** Turns initializers into graph inputs (weights fed every run, e.g. the discriminator's in the generator's step). */
export function initializersToInputs(g: Graph, names: string[]): void {
  for (const n of names) {
    const t = g.initializers.get(n);
    if (!t) throw new FvizError(`internal: no initializer '${n}'`);
    g.initializers.delete(n);
    g.inputs.push({ name: n, dtype: t.dtype, shape: [...t.dims] });
  }
}
