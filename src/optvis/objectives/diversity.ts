// Lucid's diversity objective: the negative mean pairwise cosine similarity of the batch members'
// Gram matrices at a layer, so a batch spreads over different facets of a unit.
import { FvizError } from '../../errors.ts';
import { GraphBuilder } from '../../onnx/builder.ts';
import { tensor } from '../../onnx/tensor.ts';
import { resolveTensor, type ObjectiveModel } from './build.ts';

function metadataAliases(obj: ObjectiveModel): Record<string, string> {
  try {
    return JSON.parse(obj.model.metadata['fviz.aliases'] ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

/**
 * Appends `weight * diversity(layer)` to the objective's scalar; returns the new scalar's name. `layer`
 * resolves through `aliases` (appendObjective passes the card's and the model's).
 */
export function appendDiversity(obj: ObjectiveModel, layer: string, weight: number, aliases: Record<string, string> = metadataAliases(obj)): string {
  const g = obj.model.graph;
  const name = resolveTensor(g, layer, aliases);
  const t = g.valueTypes.get(name)!;
  const shape = t.shape as number[];
  if (shape.length !== 4) throw new FvizError(`diversity layer '${layer}' has shape [${shape}]; it needs N x C x H x W`);
  const [n, c, h, w] = shape as [number, number, number, number];
  if (n < 2) throw new FvizError('diversity needs --batch 2 or more');
  const dtype = t.dtype;
  const b = new GraphBuilder(g);
  const set = (v: string, s: number[]) => {
    g.valueTypes.set(v, { dtype, shape: s });
    return v;
  };
  const flat = set(b.op('Reshape', [name, b.constant(tensor('int64', [3], [n, c, h * w]))], {}, 'diversity'), [n, c, h * w]);
  const flatT = set(b.op('Transpose', [flat], { perm: { ints: [0, 2, 1] } }, 'diversity'), [n, h * w, c]);
  const gram = set(b.op('MatMul', [flat, flatT], {}, 'diversity_gram'), [n, c, c]);
  const sq = set(b.op('Mul', [gram, gram], {}, 'diversity'), [n, c, c]);
  const ss = set(b.op('ReduceSum', [sq, b.constant(tensor('int64', [2], [1, 2]))], { keepdims: { i: 1 } }, 'diversity'), [n, 1, 1]);
  const norm = set(b.op('Sqrt', [set(b.op('Add', [ss, b.constant(tensor(dtype, [], [1e-10]))], {}, 'diversity'), [n, 1, 1])], {}, 'diversity'), [n, 1, 1]);
  const unit = set(b.op('Div', [gram, norm], {}, 'diversity'), [n, c, c]);
  const rows = set(b.op('Reshape', [unit, b.constant(tensor('int64', [2], [n, c * c]))], {}, 'diversity'), [n, c * c]);
  const rowsT = set(b.op('Transpose', [rows], { perm: { ints: [1, 0] } }, 'diversity'), [c * c, n]);
  const sim = set(b.op('MatMul', [rows, rowsT], {}, 'diversity_similarity'), [n, n]);
  const offDiag = new Array<number>(n * n).fill(0).map((_, k) => (Math.floor(k / n) === k % n ? 0 : -weight / n));
  const term = set(b.op('Mul', [sim, b.constant(tensor(dtype, [n, n], offDiag))], {}, 'diversity'), [n, n]);
  const termSum = set(b.op('ReduceSum', [term], { keepdims: { i: 0 } }, 'diversity_term'), []);
  return set(b.op('Add', [obj.scalar, termSum], {}, 'objective_with_diversity'), []);
}
