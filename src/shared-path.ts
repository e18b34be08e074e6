// Where the project's read-only shared material lives (reference prototxts, datasets): ../shared beside the
// repository, or $FVIZ_SHARED. It is read from there, never copied into the repository.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FvizError } from './errors.ts';

/** The repository root: the folder above src/. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function sharedDir(): string {
  const env = process.env['FVIZ_SHARED'];
  return env ? resolve(env) : resolve(repoRoot, '..', 'shared');
}

/** A file under the shared folder; fails with the fix when it is missing. */
export function sharedFile(...parts: string[]): string {
  const p = join(sharedDir(), ...parts);
  if (!existsSync(p))
    throw new FvizError(`shared file '${p}' is missing: put the shared folder beside the repository or set FVIZ_SHARED`, {
      subject: p,
    });
  return p;
}
