// --dataset: for each objective's target unit, the dataset's top examples (the sheet's last column) and
// the dataset's maximum activation (the denominator of "fraction of the dataset's maximum").
// Placeholder until the activation scan (src/dataset/scan.ts) is committed.
import { FvizError } from '../errors.ts';
import type { Classifier } from '../classifier/card.ts';
import type { Nchw } from '../regularizers/nchw.ts';
import type { SessionOptions } from '../runtime/session.ts';

export interface UnitReference {
  /** The unit's largest activation over the dataset. */
  max: number;
  /** Its top examples, best first, as display images at the classifier's input size. */
  examples: Nchw[];
}

export interface DatasetReference {
  description: string;
  forObjective(objective: string): Promise<UnitReference>;
}

export interface DatasetReferenceOptions extends SessionOptions {
  cacheDir?: string;
  top?: number;
  batch?: number;
  log?: (line: string) => void;
}

export async function openDatasetReference(spec: string, _classifier: Classifier, _o: DatasetReferenceOptions = {}): Promise<DatasetReference> {
  throw new FvizError(`--dataset ${spec}: this build has no activation scan yet; run without --dataset`);
}
