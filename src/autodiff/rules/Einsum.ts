import { FvizError } from '../../errors.ts';
import type { Node } from '../../onnx/ir.ts';
import type { GradContext, GradRule } from '../context.ts';

export interface EinsumTerms {
  /** One label per axis of each operand, the ellipsis spelled out with letters the equation does not use. */
  inputs: string[][];
  output: string[];
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * Labels of every axis of an Einsum's operands and output, for operands of the given ranks: the ellipsis
 * becomes explicit letters (right-aligned across operands, as it broadcasts), and an implicit output is the
 * labels used once, sorted, after the ellipsis. Throws one line for an equation it cannot read.
 */
export function einsumTerms(equation: string, ranks: number[], what = 'Einsum'): EinsumTerms {
  const eq = equation.replace(/\s+/g, '');
  const bad = (why: string): never => {
    throw new FvizError(`${what}: equation '${equation}' ${why}`);
  };
  const [lhs, rhs, extra] = eq.split('->');
  if (extra !== undefined || lhs === undefined) bad("has more than one '->'");
  const terms = lhs!.split(',');
  if (terms.length !== ranks.length) bad(`names ${terms.length} operands, the node has ${ranks.length}`);
  const used = new Set(eq.replace(/[^a-zA-Z]/g, ''));
  const spare = [...LETTERS].filter((l) => !used.has(l));
  const parsed = terms.map((t, k) => {
    const dots = t.indexOf('...');
    const letters = t.replace('...', '');
    if (!/^[a-zA-Z]*$/.test(letters)) bad(`has a term '${t}' that is not letters and one '...'`);
    const e = ranks[k]! - letters.length;
    if (e < 0 || (dots < 0 && e !== 0)) bad(`has a term '${t}' that does not fit operand ${k} of rank ${ranks[k]}`);
    return { t, dots, letters, e };
  });
  const ellipsis = Math.max(0, ...parsed.filter((p) => p.dots >= 0).map((p) => p.e));
  if (spare.length < ellipsis) bad('uses too many labels to spell out its ellipsis');
  const dotLabels = spare.slice(0, ellipsis);
  const expand = (letters: string, dots: number, e: number): string[] => {
    if (dots < 0) return [...letters];
    return [...letters.slice(0, dots), ...dotLabels.slice(ellipsis - e), ...letters.slice(dots)];
  };
  const inputs = parsed.map((p) => expand(p.letters, p.dots, p.e));
  let output: string[];
  if (rhs === undefined) {
    const counts = new Map<string, number>();
    for (const p of parsed) for (const l of p.letters) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts].filter(([, n]) => n === 1).map(([l]) => l).sort();
    output = [...dotLabels, ...once];
  } else {
    const dots = rhs.indexOf('...');
    const letters = rhs.replace('...', '');
    if (!/^[a-zA-Z]*$/.test(letters)) bad(`has an output '${rhs}' that is not letters and one '...'`);
    if (dots < 0 && ellipsis > 0 && parsed.some((p) => p.dots >= 0 && p.e > 0)) bad('drops the ellipsis from its output');
    output = expand(letters, dots, ellipsis);
  }
  return { inputs, output };
}

/** Letters repeated within one term (diagonals and traces). */
function repeated(term: string[]): string | undefined {
  return term.find((l, i) => term.indexOf(l) !== i);
}

/**
 * Einsum without repeated labels in one operand: the gradient of operand k is the einsum of the output
 * gradient with the other operands onto k's labels. Labels of k that nothing else carries (summed within k
 * alone, or size-1 axes broadcast against a larger one) are summed out and restored by Expand.
 */
export const Einsum: GradRule = (node, ctx) => {
  const g = ctx.grad(node.outputs[0]!);
  if (!g) return;
  const eq = node.attrs['equation']?.s ?? '';
  const what = `Einsum node '${node.name}'`;
  const terms = einsumTerms(eq, node.inputs.map((i) => ctx.rank(i)), what);
  const shapes = node.inputs.map((i) => ctx.shape(i));
  for (const [k, t] of terms.inputs.entries()) {
    const r = repeated(t);
    if (r)
      throw new FvizError(
        `${what}: equation '${eq}' repeats label '${r}' within operand ${k} (a diagonal or trace); fviz differentiates Einsum whose operands each use a label once`,
        { subject: node.opType },
      );
  }
  // Size of each label where it is not broadcast.
  const size = new Map<string, number>();
  terms.inputs.forEach((t, k) => t.forEach((l, j) => size.set(l, Math.max(size.get(l) ?? 1, shapes[k]![j]!))));
  node.inputs.forEach((x, k) => {
    if (!ctx.needs(x)) return;
    ctx.addGrad(x, operandGrad(ctx, node, g, terms, shapes, size, k));
  });
};

function operandGrad(
  ctx: GradContext,
  node: Node,
  g: string,
  terms: EinsumTerms,
  shapes: number[][],
  size: Map<string, number>,
  k: number,
): string {
  const term = terms.inputs[k]!;
  const shape = shapes[k]!;
  // Labels carried by the output gradient or another operand, at their full size there.
  const elsewhere = new Set(terms.output);
  terms.inputs.forEach((t, j) => j !== k && t.forEach((l) => elsewhere.add(l)));
  const kept = term.filter((l, j) => elsewhere.has(l) && !(shape[j] === 1 && size.get(l)! > 1));
  const others = node.inputs.filter((_, j) => j !== k);
  let r: string;
  if (others.length === 0) {
    // One operand: the gradient is g with its axes permuted onto k's kept labels.
    const perm = kept.map((l) => terms.output.indexOf(l));
    r = perm.every((p, i) => p === i) && perm.length === terms.output.length ? g : ctx.emit('Transpose', [g], { perm: { ints: perm } });
  } else {
    // Size-1 axes of the other operands that broadcast get labels of their own: Einsum broadcasts only
    // within an ellipsis, which the explicit labels replace.
    const all = new Set([...terms.output, ...terms.inputs.flat()]);
    const spare = [...LETTERS].filter((l) => !all.has(l));
    const otherTerms = terms.inputs
      .map((t, j) => t.map((l, a) => (j !== k && shapes[j]![a] === 1 && size.get(l)! > 1 ? spare.pop() ?? l : l)))
      .filter((_, j) => j !== k);
    const lhs = [terms.output, ...otherTerms].map((t) => t.join('')).join(',');
    r = ctx.emit('Einsum', [g, ...others], { equation: { s: `${lhs}->${kept.join('')}` } });
  }
  if (kept.length === term.length) return r;
  // Restore the summed-out labels as size-1 axes, then broadcast to the operand's shape.
  return ctx.emit('Expand', [ctx.reshapeTo(r, term.map((l, j) => (kept.includes(l) ? shape[j]! : 1))), ctx.ints(shape)]);
}
