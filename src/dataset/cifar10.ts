// `cifar10` as a dataset name: the shared archive of CIFAR-10 as JPEG folders (train/<class>/*.jpg,
// test/<class>/*.jpg), extracted once into the cache.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import { sharedFile } from '../shared-path.ts';
import { cacheDir } from './cache-dir.ts';

export const CIFAR10_ARCHIVE = ['datasets', 'cifar10-jpg.tar.gz'];

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export interface ExtractedCifar10 {
  /** Folder holding train/ and test/. */
  root: string;
  /** sha256 of the archive it came from. */
  archiveSha256: string;
}

/** The extracted CIFAR-10 folders, extracting the shared archive first if needed (atomically: temp folder + rename). */
export async function cifar10Folders(onStatus?: (msg: string) => void): Promise<ExtractedCifar10> {
  const base = cacheDir();
  const root = join(base, 'cifar10');
  const stamp = join(root, '.archive-sha256');
  if (existsSync(stamp) && existsSync(join(root, 'train')) && existsSync(join(root, 'test')))
    return { root, archiveSha256: readFileSync(stamp, 'utf8').trim() };
  const archive = sharedFile(...CIFAR10_ARCHIVE);
  onStatus?.(`extracting ${archive} into ${root}`);
  const sha = await sha256File(archive);
  const tmp = join(base, `cifar10.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync('tar', ['-xzf', archive, '-C', tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw new FvizError(`could not extract '${archive}' with tar: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  if (!existsSync(join(tmp, 'train')) || !existsSync(join(tmp, 'test'))) {
    rmSync(tmp, { recursive: true, force: true });
    throw new FvizError(`'${archive}' does not hold train/ and test/ folders`, { subject: archive });
  }
  writeFileSync(join(tmp, '.archive-sha256'), `${sha}\n`);
  rmSync(root, { recursive: true, force: true });
  renameSync(tmp, root);
  return { root, archiveSha256: sha };
}
