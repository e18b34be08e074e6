// Receptive fields from the graph: for every spatial tensor between the input and a layer, the size of
// the input window one position sees, the stride between neighbouring positions, and the centre of
// position (0, 0), all in input pixels, through the conv/pool chain (pads, strides, dilations, auto_pad).
// Where branches meet (Concat, Add) the union is taken, so a mixed inception output gets the widest
// branch's field. Ops that mix all positions (global pools, Gemm, Reshape) or that this does not know end
// the chain: the field is then the whole image.
import type { Graph, Model, Node } from '../onnx/ir.ts';
import { getInts } from '../onnx/ir.ts';
import { windowOf } from '../autodiff/rules/spatial.ts';

export interface ReceptiveField {
  /** Window size in input pixels [h, w]. */
  size: [number, number];
  /** Input pixels between neighbouring positions [h, w]. */
  stride: [number, number];
  /** Centre of position (0, 0) in input pixel coordinates (pixel k's centre is k) [y, x]. */
  start: [number, number];
}

/** Ops whose output position (y, x) depends on the same input position (y, x) of every spatial input. */
const POINTWISE = new Set([
  'Relu', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Softsign', 'Mish',
  'Clip', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Pow', 'Erf', 'Identity', 'Dropout', 'Cast', 'Floor', 'Ceil', 'Round', 'Sign',
  'Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Equal', 'Greater', 'Less',
  'BatchNormalization', 'InstanceNormalization', 'LRN', 'Concat',
]);

const WINDOWED = new Set(['Conv', 'MaxPool', 'AveragePool', 'LpPool']);

function spatialOf(g: Graph, name: string): [number, number] | undefined {
  const s = g.valueTypes.get(name)?.shape;
  if (!s || s.length !== 4 || typeof s[2] !== 'number' || typeof s[3] !== 'number') return undefined;
  return [s[2], s[3]];
}

function union(fields: ReceptiveField[]): ReceptiveField | undefined {
  const first = fields[0]!;
  if (fields.some((f) => f.stride[0] !== first.stride[0] || f.stride[1] !== first.stride[1])) return undefined;
  const box = (f: ReceptiveField, a: 0 | 1) => [f.start[a] - (f.size[a] - 1) / 2, f.start[a] + (f.size[a] - 1) / 2] as const;
  const out: ReceptiveField = { size: [0, 0], stride: [...first.stride], start: [0, 0] };
  for (const a of [0, 1] as const) {
    const lo = Math.min(...fields.map((f) => box(f, a)[0]));
    const hi = Math.max(...fields.map((f) => box(f, a)[1]));
    out.size[a] = hi - lo + 1;
    out.start[a] = (lo + hi) / 2;
  }
  return out;
}

function windowed(g: Graph, node: Node, inField: ReceptiveField, inSpatial: [number, number]): ReceptiveField | undefined {
  let kernel = getInts(node, 'kernel_shape');
  if (!kernel && node.opType === 'Conv') {
    const w = g.valueTypes.get(node.inputs[1]!)?.shape ?? g.initializers.get(node.inputs[1]!)?.dims;
    if (w && w.length === 4) kernel = w.slice(2) as number[];
  }
  if (!kernel || kernel.length !== 2) return undefined;
  const win = windowOf(node, inSpatial, kernel);
  const out: ReceptiveField = { size: [0, 0], stride: [0, 0], start: [0, 0] };
  for (const a of [0, 1] as const) {
    const extent = (win.kernel[a]! - 1) * win.dilations[a]! + 1;
    out.size[a] = inField.size[a] + (extent - 1) * inField.stride[a];
    out.stride[a] = inField.stride[a] * win.strides[a]!;
    out.start[a] = inField.start[a] + ((extent - 1) / 2 - win.padsBegin[a]!) * inField.stride[a];
  }
  return out;
}

/**
 * The receptive field of `tensor` in `model` (prepared: static shapes, topological order), measured from
 * its one 4-D input; undefined when the tensor is not spatial or the chain has an op that mixes positions.
 */
export function receptiveField(model: Model, tensor: string): ReceptiveField | undefined {
  const g = model.graph;
  const input = g.inputs[0];
  if (!input) return undefined;
  const fields = new Map<string, ReceptiveField | null>();
  fields.set(input.name, { size: [1, 1], stride: [1, 1], start: [0, 0] });
  for (const node of g.nodes) {
    const inputs = node.inputs.filter((i) => i && fields.has(i));
    if (inputs.length === 0) continue;
    const known = inputs.map((i) => fields.get(i)!);
    let out: ReceptiveField | undefined;
    const outSpatial = node.outputs[0] ? spatialOf(g, node.outputs[0]) : undefined;
    if (known.some((f) => f === null) || !outSpatial) out = undefined;
    else if (WINDOWED.has(node.opType) && node.inputs[0] && fields.get(node.inputs[0])) {
      const inSpatial = spatialOf(g, node.inputs[0]);
      out = inSpatial ? windowed(g, node, fields.get(node.inputs[0])!, inSpatial) : undefined;
    } else if (node.opType === 'Pad') {
      const pads = g.initializers.get(node.inputs[1] ?? '')?.data;
      const f = fields.get(node.inputs[0]!)!;
      if (pads && pads.length === 8) {
        const p = Array.from(pads as BigInt64Array, Number);
        out = { size: [...f.size], stride: [...f.stride], start: [f.start[0] - p[2]! * f.stride[0], f.start[1] - p[3]! * f.stride[1]] };
      }
    } else if (POINTWISE.has(node.opType)) {
      const sameGrid = inputs.every((i) => {
        const s = spatialOf(g, i);
        return !s || (s[0] === outSpatial[0] && s[1] === outSpatial[1]) || (s[0] === 1 && s[1] === 1);
      });
      // Inputs broadcast from 1 x 1 (a per-channel scale) carry no position.
      const spatialInputs = inputs.filter((i) => {
        const s = spatialOf(g, i);
        return s && s[0] === outSpatial[0] && s[1] === outSpatial[1];
      });
      if (sameGrid && spatialInputs.length > 0) out = union(spatialInputs.map((i) => fields.get(i)!));
    }
    for (const o of node.outputs) if (o) fields.set(o, out ?? null);
  }
  return fields.get(tensor) ?? undefined;
}

/**
 * The input window [y0, x0, y1, x1) (end exclusive) that position `pos` (flat y * W + x of a W-wide
 * layer) sees, clipped to the image; the whole image when `rf` is undefined.
 */
export function cropBox(rf: ReceptiveField | undefined, pos: number, layerWidth: number, imageH: number, imageW: number): [number, number, number, number] {
  if (!rf || pos < 0) return [0, 0, imageH, imageW];
  const yx = [Math.floor(pos / layerWidth), pos % layerWidth];
  const lim = [imageH, imageW];
  const lo: number[] = [];
  const hi: number[] = [];
  for (const a of [0, 1] as const) {
    const centre = rf.start[a] + yx[a]! * rf.stride[a];
    lo.push(Math.max(0, Math.floor(centre - (rf.size[a] - 1) / 2)));
    hi.push(Math.min(lim[a]!, Math.ceil(centre + (rf.size[a] - 1) / 2) + 1));
  }
  return [lo[0]!, lo[1]!, Math.max(hi[0]!, lo[0]! + 1), Math.max(hi[1]!, lo[1]! + 1)];
}
