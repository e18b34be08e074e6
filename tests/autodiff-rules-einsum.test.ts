// The Einsum gradient rule against central finite differences (float64), on the equations transformers
// export (batched matmuls, relative-position attention) and the general two-operand forms; the labels an
// ellipsis stands for, broadcast size-1 axes, implicit outputs and labels summed within one operand.
import { describe, expect, it } from 'vitest';
import { checkCase, type GradCase } from './helpers/gradcheck.ts';
import { einsumTerms } from '../src/autodiff/rules/Einsum.ts';
import { buildModel } from './helpers/gradcheck.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { compileFused } from '../src/autodiff/compile.ts';

const TOL = 1e-6;

function einsumCase(equation: string, shapes: number[][]): GradCase {
  const names = shapes.map((_, k) => `x${k}`);
  return {
    name: `${equation} on ${shapes.map((s) => `[${s}]`).join(', ')}`,
    opts: { inputs: shapes.map((shape, k) => ({ name: names[k]!, shape })) },
    build: (b) => [b.op('Einsum', names, { equation: { s: equation } })],
  };
}

const cases: GradCase[] = [
  einsumCase('bij,bjk->bik', [[2, 3, 4], [2, 4, 5]]),
  einsumCase('bhid,bhjd->bhij', [[1, 2, 3, 4], [1, 2, 5, 4]]),
  einsumCase('bhij,bhjd->bhid', [[2, 2, 3, 4], [2, 2, 4, 3]]),
  einsumCase('...ij,...jk->...ik', [[2, 3, 3, 4], [2, 3, 4, 2]]),
  // A broadcast size-1 axis within the ellipsis (onnxruntime wants every ellipsis of the same rank).
  einsumCase('...ij,...jk->...ik', [[2, 1, 3, 4], [2, 5, 4, 2]]),
  einsumCase('...ij,...jk', [[1, 3, 4], [5, 4, 2]]),
  einsumCase('bhwc,hkc->bhwk', [[2, 3, 4, 5], [3, 6, 5]]),
  einsumCase('bhwc,wkc->bhwk', [[2, 3, 4, 5], [4, 6, 5]]),
  einsumCase('ij,jk', [[3, 4], [4, 2]]),
  einsumCase('bi,bj->bij', [[2, 3], [2, 4]]),
  einsumCase('ijk,jk->j', [[2, 3, 4], [3, 4]]),
  einsumCase('ij,jk,kl->il', [[2, 3], [3, 4], [4, 2]]),
  einsumCase('ij->ji', [[3, 4]]),
  einsumCase('ijk->', [[2, 3, 4]]),
  einsumCase('ijk->ki', [[2, 3, 4]]),
  einsumCase('b i j , b j k -> b k i', [[2, 3, 4], [2, 4, 5]]),
];

describe('Einsum rule', () => {
  for (const c of cases)
    it(c.name, async () => {
      expect(await checkCase(c, TOL)).toBeLessThan(TOL);
    });

  it('x used as both operands gets both contributions', async () => {
    const c: GradCase = {
      name: 'x x^T',
      opts: { inputs: [{ name: 'x', shape: [3, 4] }] },
      build: (b) => [b.op('Einsum', ['x', 'x'], { equation: { s: 'ik,jk->ij' } })],
    };
    expect(await checkCase(c, TOL)).toBeLessThan(TOL);
  });

  it('refuses a repeated label within one operand in one line naming the node and the equation', () => {
    const model = prepareModel(buildModel('float64', [{ name: 'x', shape: [3, 3] }], (b) => [b.op('Einsum', ['x'], { equation: { s: 'ii->i' } }, 'diag')]));
    const out = model.graph.outputs[0]!.name;
    expect(() => compileFused(model, { outputs: [out], wrt: ['x'], seedOnes: true })).toThrow(
      /^Einsum node 'diag_node': equation 'ii->i' repeats label 'i' within operand 0 \(a diagonal or trace\); fviz differentiates Einsum whose operands each use a label once$/,
    );
  });
});

describe('einsumTerms', () => {
  it('spells out the ellipsis right-aligned and the implicit output', () => {
    expect(einsumTerms('...ij,...jk->...ik', [4, 3])).toEqual({
      inputs: [['A', 'B', 'i', 'j'], ['B', 'j', 'k']].map((t) => t.map((l) => (l === 'A' ? 'a' : l === 'B' ? 'b' : l))),
      output: ['a', 'b', 'i', 'k'],
    });
    expect(einsumTerms('ba,ac', [2, 2]).output).toEqual(['b', 'c']);
    expect(() => einsumTerms('ij,jk->ik', [2, 3], 'node n')).toThrow("node n: equation 'ij,jk->ik' has a term 'jk' that does not fit operand 1 of rank 3");
  });
});
