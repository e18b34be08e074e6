// Analytic operation counts of a graph with static shapes, for GFLOP/s figures in the bench.
// Only the multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul are counted: everything
// else (activations, pooling, LRN, concat) is memory-bound and small next to them.
import type { Graph, Node } from '../onnx/ir.ts';
import { getInt, isStaticShape, producers, sizeOf } from '../onnx/ir.ts';

/** How the bench turns MACs into FLOPs; printed in every line that reports GFLOP/s. */
export const FLOP_CONVENTION =
  'forward = 2*MACs of Conv/ConvTranspose/Gemm/MatMul; input gradient = 1x forward (no weight gradients); other ops not counted';

function shapeOf(g: Graph, name: string): number[] {
  const init = g.initializers.get(name);
  if (init) return init.dims;
  const t = g.valueTypes.get(name);
  if (!t || !isStaticShape(t.shape)) throw new Error(`flops: no static shape for '${name}'`);
  return t.shape;
}

/** Forward multiply-accumulates of one node (0 for ops that are not counted). */
export function nodeMacs(g: Graph, node: Node): number {
  switch (node.opType) {
    case 'Conv': {
      // out [N, M, ...spatial] x (C/group * prod(kernel)) MACs each
      const w = shapeOf(g, node.inputs[1]!);
      const out = shapeOf(g, node.outputs[0]!);
      return sizeOf(out) * sizeOf(w.slice(1));
    }
    case 'ConvTranspose': {
      // every input element scatters into (M/group * prod(kernel)) outputs; W is [C, M/group, k...]
      const x = shapeOf(g, node.inputs[0]!);
      const w = shapeOf(g, node.inputs[1]!);
      return sizeOf(x) * sizeOf(w.slice(1));
    }
    case 'Gemm': {
      const a = shapeOf(g, node.inputs[0]!);
      const b = shapeOf(g, node.inputs[1]!);
      const k = getInt(node, 'transA', 0) ? a[0]! : a[1]!;
      const m = getInt(node, 'transA', 0) ? a[1]! : a[0]!;
      const n = getInt(node, 'transB', 0) ? b[0]! : b[1]!;
      return m * n * k;
    }
    case 'MatMul': {
      const a = shapeOf(g, node.inputs[0]!);
      const out = shapeOf(g, node.outputs[0]!);
      const k = a[a.length - 1]!;
      return sizeOf(out) * k;
    }
    default:
      return 0;
  }
}

/** Nodes that `targets` depend on (all nodes when `targets` is empty), in graph order. */
export function ancestorNodes(g: Graph, targets: string[]): Node[] {
  if (targets.length === 0) return g.nodes;
  const prod = producers(g);
  const needed = new Set<Node>();
  const stack = [...targets];
  const seen = new Set<string>();
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v)) continue;
    seen.add(v);
    const n = prod.get(v);
    if (!n || needed.has(n)) continue;
    needed.add(n);
    for (const i of n.inputs) if (i) stack.push(i);
  }
  return g.nodes.filter((n) => needed.has(n));
}

export interface FlopCount {
  /** Forward MACs of the nodes counted. */
  macs: number;
  /** 2 * macs. */
  forwardFlops: number;
  /** Forward + input gradient: 2 * forwardFlops under FLOP_CONVENTION. */
  forwardBackwardFlops: number;
  /** MACs per op type, for the curious. */
  byOp: Record<string, number>;
}

/** Counts the forward MACs of everything `targets` depends on (the whole graph by default). */
export function countFlops(g: Graph, targets: string[] = []): FlopCount {
  let macs = 0;
  const byOp: Record<string, number> = {};
  for (const n of ancestorNodes(g, targets)) {
    const m = nodeMacs(g, n);
    if (!m) continue;
    macs += m;
    byOp[n.opType] = (byOp[n.opType] ?? 0) + m;
  }
  return { macs, forwardFlops: 2 * macs, forwardBackwardFlops: 4 * macs, byOp };
}

