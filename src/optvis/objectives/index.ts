// Objectives: the text grammar, the programmatic API, the builder that appends them to a model, and the
// compiled value-and-gradient program.
export { parseObjective, formatTarget, type ObjectiveAst, type Term, type Target, type DiversityTerm } from './parse.ts';
export { Objective, objective, channel, neuron, classLogit, layer, diversity } from './api.ts';
export { appendObjective, resolveTerms, resolveTensor, resolveClass, findPreSoftmax, objectiveAst, OBJECTIVE, OBJECTIVE_PER_ITEM, type ObjectiveInput, type ObjectiveModel, type ObjectiveNames, type ResolvedTerm } from './build.ts';
export { appendDiversity } from './diversity.ts';
export { ObjectiveGradient, Vjp, type ObjectiveGradientOptions, type ObjectiveResult } from './gradient.ts';
export { gradientAt } from './grad.ts';
