// A typo in an objective fails at once: the tensors it names are looked up in the model file as written,
// before the model is prepared and before the gradient engine (onnxruntime, the compiler) is loaded.
import { FvizError, nearestNames } from '../../errors.ts';
import { DISPLAY_INPUT, type InputConvention } from '../../classifier/card.ts';
import type { Model } from '../../onnx/ir.ts';
import { readModel } from '../../onnx/proto.ts';
import { resolveClassifier } from '../../models/registry.ts';
import { parseObjective, type ObjectiveAst } from './parse.ts';

/** The names an objective may use in a model: inputs, node outputs and typed values (not weights), the display input. */
function tensorNames(model: Model): Set<string> {
  const g = model.graph;
  const names = new Set<string>([DISPLAY_INPUT, ...g.inputs.map((i) => i.name), ...g.valueTypes.keys()]);
  for (const n of g.nodes) for (const o of n.outputs) if (o) names.add(o);
  for (const w of g.initializers.keys()) names.delete(w);
  return names;
}

function metadataAliases(model: Model): Record<string, string> {
  const meta = model.metadata['fviz.aliases'];
  if (!meta) return {};
  try {
    const parsed: unknown = JSON.parse(meta);
    return parsed && typeof parsed === 'object' ? Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  } catch {
    return {};
  }
}

/**
 * Every tensor the objective names exists in the model (directly, as an alias, or as tf2onnx's 'name:C'), with
 * the same message as the full resolution when one does not. Class terms, ranges and shapes are checked later.
 */
export function checkObjectiveNames(model: Model, ast: ObjectiveAst, aliases: Record<string, string> = {}): void {
  const names = tensorNames(model);
  const all = { ...metadataAliases(model), ...aliases };
  const exists = (t: string) => names.has(t) || (all[t] !== undefined && names.has(all[t]));
  for (const term of ast.terms) {
    const t = term.target;
    if (t.kind === 'class' || exists(t.tensor)) continue;
    if (t.kind === 'channel' && exists(`${t.tensor}:${t.channel}`)) continue;
    throw new FvizError(`unknown tensor '${t.tensor}'; nearest names: ${nearestNames(t.tensor, [...names, ...Object.keys(all)]).join(', ')} (fviz inspect MODEL lists them all)`, {
      subject: t.tensor,
    });
  }
}

/** Parse the objective and check its names against the classifier (a name or path, as --model takes). */
export function checkObjective(model: string | undefined, objective: string, input: Partial<InputConvention> = {}): ObjectiveAst {
  const ast = parseObjective(objective);
  const classifier = resolveClassifier(model, input);
  checkObjectiveNames(readModel(classifier.modelPath), ast, classifier.card.aliases ?? {});
  return ast;
}
