// The model report with the gradient compiler's op coverage: onnx/inspect.ts takes the coverage as an
// argument (the ONNX layer knows nothing of the compiler); this supplies the compiler's own list.
import type { Model } from '../onnx/ir.ts';
import { inspectModel as inspectGraph, type InspectOptions, type InspectReport } from '../onnx/inspect.ts';
import { coveredOps } from './coverage.ts';

export { formatInspectReport, type InspectOptions, type InspectReport } from '../onnx/inspect.ts';

/** inspectModel of onnx/inspect.ts, the coverage defaulting to the ops the gradient compiler covers (rules and ops without gradients) (null: none). */
export function inspectModel(model: Model, opts: InspectOptions = {}): InspectReport {
  return inspectGraph(model, { ...opts, coveredOps: opts.coveredOps === undefined ? coveredOps() : opts.coveredOps });
}
