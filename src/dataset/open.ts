// Dataset names and paths -> an ImageSet: `cifar10` (the shared archive), a CIFAR-10 binary folder, a
// folder with train/ and test/ ImageFolders, or one ImageFolder.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FvizError } from '../errors.ts';
import { cifar10Folders } from './cifar10.ts';
import { isCifarBinaryDir, readCifarBinary } from './cifar-binary.ts';
import type { ImageSet } from './image-set.ts';
import { loadImageFolder, type LoadFolderOptions } from './image-folder.ts';

export type Split = 'train' | 'test';

export interface OpenDatasetOptions extends LoadFolderOptions {
  split?: Split;
  /** Progress messages (extraction, decoding). */
  onStatus?: (msg: string) => void;
}

export interface OpenedDataset {
  set: ImageSet;
  /** What the name resolved to, for cards and logs. */
  description: string;
  /** sha256 of the archive, when it came from the shared CIFAR-10 archive. */
  archiveSha256?: string;
}

/** The folder holding one split of a dataset spec, as an ImageFolder or CIFAR binary dir. */
export async function openDataset(spec: string, opts: OpenDatasetOptions = {}): Promise<OpenedDataset> {
  const split = opts.split ?? 'train';
  if (spec === 'cifar10') {
    const { root, archiveSha256 } = await cifar10Folders(opts.onStatus);
    const set = await loadImageFolder(join(root, split), { ...opts, height: 32, width: 32 });
    return { set, description: `cifar10 ${split} (${set.n} images)`, archiveSha256 };
  }
  const dir = resolve(spec);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new FvizError(`dataset '${spec}' is neither 'cifar10' nor an existing folder`, { subject: spec });
  for (const d of [dir, join(dir, 'cifar-10-batches-bin')])
    if (isCifarBinaryDir(d)) {
      const set = readCifarBinary(d, split);
      return { set, description: `CIFAR-10 binaries ${d} ${split} (${set.n} images)` };
    }
  const splitDir = join(dir, split);
  const root = existsSync(join(dir, 'train')) && existsSync(join(dir, 'test')) ? splitDir : dir;
  const set = await loadImageFolder(root, opts);
  return { set, description: `image folder ${root} (${set.n} images)` };
}
