// Where decoded datasets and extracted archives live: $FVIZ_CACHE, else ~/.cache/fviz. Never inside git.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function cacheRoot(): string {
  const env = process.env['FVIZ_CACHE'];
  return env ? resolve(env) : join(homedir(), '.cache', 'fviz');
}

/** A folder under the cache root, created on demand. */
export function cacheDir(...parts: string[]): string {
  const d = join(cacheRoot(), ...parts);
  mkdirSync(d, { recursive: true });
  return d;
}
