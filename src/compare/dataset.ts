// --dataset: for each objective's target unit, the dataset's top examples (the sheet's last column) and
// the dataset's maximum activation (the denominator of "fraction of the dataset's maximum"). One
// activation scan per unit (src/analysis/scan.ts), checkpointed under the comparison's folder so a
// resumed comparison does not scan again.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Classifier } from '../classifier/card.ts';
import { objectiveProbe, scanActivations } from '../analysis/scan.ts';
import { openScanSource, type ImageSource } from '../dataset/stream-source.ts';
import { FvizError } from '../errors.ts';
import { fromRgbBytes } from '../render/image.ts';
import type { Nchw } from '../image/nchw.ts';
import type { SessionOptions } from '../runtime/session.ts';
import { objectiveSlug } from './plan.ts';
import { targetUnit } from './probe.ts';

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
  /** Folder for the scans' checkpoints (finished scans are read back instead of redone). */
  cacheDir?: string;
  /** Examples kept per unit (default 4). */
  top?: number;
  batch?: number;
  log?: (line: string) => void;
}

async function exampleImage(source: ImageSource, index: number, size: [number, number]): Promise<Nchw> {
  const d = await source.decode(index, size[0], size[1]);
  if ('error' in d) throw new FvizError(`dataset image '${source.names[index]}' cannot be decoded again: ${d.error}`);
  return fromRgbBytes(d.pixels, size[0], size[1]);
}

export async function openDatasetReference(spec: string, classifier: Classifier, o: DatasetReferenceOptions = {}): Promise<DatasetReference> {
  const source = await openScanSource(spec, o.log);
  const size = classifier.card.input.size;
  if (o.cacheDir) mkdirSync(o.cacheDir, { recursive: true });
  return {
    description: source.description,
    async forObjective(objective: string): Promise<UnitReference> {
      const unit = targetUnit(objective);
      const probe = await objectiveProbe(classifier, unit, o.batch ?? 32);
      const scan = await scanActivations({
        source,
        probe,
        top: o.top ?? 4,
        bottom: 0,
        device: o.device,
        threads: o.threads,
        checkpoint: o.cacheDir ? join(o.cacheDir, `${objectiveSlug(unit)}.scan`) : undefined,
      });
      const r = scan.stats.result(0, []);
      const examples: Nchw[] = [];
      for (const ex of r.top) examples.push(await exampleImage(source, scan.stats.sourceIndex[ex.image]!, size));
      return { max: r.stats.max, examples };
    },
  };
}
