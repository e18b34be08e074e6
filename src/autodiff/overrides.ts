// Gradient rules attached to particular nodes rather than to an op type: a compile-time rewrite that
// expands one op into several (LRN into a Conv and powers) can give the expansion's output node the
// original op's direct gradient, so the backward walk does not differentiate the expansion piece by piece.
// The nodes in between then receive no gradient and emit nothing.
import type { Node } from '../onnx/ir.ts';
import type { GradRule } from './context.ts';

const overrides = new WeakMap<Node, GradRule>();

/** Use `rule` instead of the op type's rule when the backward walk reaches `node`. */
export function overrideRule(node: Node, rule: GradRule): void {
  overrides.set(node, rule);
}

export function overriddenRule(node: Node): GradRule | undefined {
  return overrides.get(node);
}
