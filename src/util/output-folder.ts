// A command's output folder, created up front so a bad --out fails with one line before any work starts.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';

/** Creates `dir` (and `dir/sub` when given); a failure is one FvizError that names `dir`. */
export function createOutputFolder(dir: string, sub?: string): void {
  try {
    mkdirSync(sub === undefined ? dir : join(dir, sub), { recursive: true });
  } catch (e) {
    throw new FvizError(`cannot create output folder '${dir}': ${(e as Error).message}`, { subject: dir });
  }
}
