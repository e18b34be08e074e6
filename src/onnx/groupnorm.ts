// GroupNormalization (opset 18, per-group Scale and B; opset 21, per-channel) written with opset-17 ops:
//   Reshape x [N, C, ...] -> [N, G, C/G * ...], InstanceNormalization over each group (with the per-group
//   Scale and B of opset 18, or ones and zeros), Reshape back to x's shape, then (opset 21) x Scale + B
//   per channel. The statistics are those of onnxruntime's kernel: mean and biased variance of each group.
import type { AttrValue, DType, Dim, Node, TensorData } from './ir.ts';
import { tensor } from './tensor.ts';

/** What the rewrite needs from normalization's context. */
export interface RewriteContext {
  readonly opset: number;
  dtype(name: string): DType;
  shape(name: string): Dim[] | undefined;
  constant(t: TensorData, base: string): string;
  ints(values: number[], base: string): string;
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue>, output: string | undefined, base: string): Node;
  fail(node: Node, msg: string): never;
}

/** First opset whose GroupNormalization takes per-channel Scale and B. */
export const GROUPNORM_PER_CHANNEL_OPSET = 21;

export function groupNormalization(cx: RewriteContext, node: Node): Node[] {
  const [x, scale, bias] = node.inputs as [string, string, string];
  const y = node.outputs[0]!;
  const base = node.name;
  const groups = node.attrs['num_groups']?.i;
  if (groups === undefined || groups < 1) cx.fail(node, "attribute 'num_groups' (a positive integer) is required");
  const epsilon = node.attrs['epsilon']?.f ?? 1e-5;
  const shape = cx.shape(x);
  if (!shape || shape.length < 2) cx.fail(node, `needs an input of known rank >= 2 ([N, C, ...]), got ${shape ? `[${shape}]` : 'an unknown shape'}`);
  const C = shape[1]!;
  if (typeof C === 'number' && C % groups !== 0) cx.fail(node, `${C} channels do not split into ${groups} groups`);
  const dtype = cx.dtype(x);
  const perChannel = cx.opset >= GROUPNORM_PER_CHANNEL_OPSET;
  const out: Node[] = [];
  const op = (type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string) => {
    const n = cx.node(type, inputs, attrs, output, base);
    out.push(n);
    return n.outputs[0]!;
  };
  const grouped = op('Reshape', [x, cx.ints([0, groups, -1], `${base}_grouped_shape`)]);
  const fill = (v: number, tag: string) => cx.constant(tensor(dtype, [groups], new Array<number>(groups).fill(v)), `${base}_${tag}`);
  const normed = op('InstanceNormalization', [grouped, perChannel ? fill(1, 'ones') : scale, perChannel ? fill(0, 'zeros') : bias], {
    epsilon: { f: epsilon },
  });
  if (!perChannel) {
    op('Reshape', [normed, op('Shape', [x])], {}, y);
    return out;
  }
  const restored = op('Reshape', [normed, op('Shape', [x])]);
  // Scale and B [C] broadcast as [C, 1, ..., 1] against [N, C, spatial...].
  const channelShape = cx.ints([-1, ...new Array<number>(shape.length - 2).fill(1)], `${base}_channel_shape`);
  const scaled = op('Mul', [restored, op('Reshape', [scale, channelShape])]);
  op('Add', [scaled, op('Reshape', [bias, channelShape])], {}, y);
  return out;
}
