// The models fviz knows how to fetch: the cards under models/<folder>/card.json that carry a `fetch`
// section (where the file comes from, its sha256, how it becomes an .onnx, which files go beside it).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FvizError, nearestNames } from '../errors.ts';
import { readCard } from '../classifier/card.ts';
import { repoRoot, sharedFile } from '../shared-path.ts';

export const CARDS_DIR = join(repoRoot, 'models');

export interface DownloadSource {
  url: string;
  /** Other places the same file is known to be; not tried automatically. */
  mirrors?: string[];
  /** File name of the download. */
  file: string;
  /** Size in bytes, where known. */
  size?: number;
  /** sha256 of the download; null where no public source states one. */
  sha256: string | null;
  /** For an archive: the member that holds the model. */
  member?: string;
  /** sha256 of that member, for `models add MEMBER`; null where unknown. */
  memberSha256?: string | null;
}

export interface FetchSection {
  kind: 'classifier' | 'generator';
  download: DownloadSource;
  /** A Caffe model: the deploy prototxt to convert it with ('shared:...' or relative to the card). */
  convert?: { from: 'caffe'; prototxt: string };
  /** Installed file name -> its source ('shared:...' or relative to the card). */
  files?: Record<string, string>;
  /** A deploy prototxt whose Caffe names become aliases of the installed model's Caffe2-versioned tensors. */
  aliasesFrom?: string;
}

export interface CatalogEntry {
  name: string;
  /** The repository's card file. */
  cardPath: string;
  /** The card as stored (classifier or generator fields, plus `fetch`). */
  card: Record<string, unknown> & { name: string; model: string; fetch: FetchSection };
}

/** 'shared:reference/x.txt' -> the shared file; anything else relative to the card's folder. */
export function resolveCardFile(spec: string, cardPath: string): string {
  if (spec.startsWith('shared:')) return sharedFile(...spec.slice('shared:'.length).split('/'));
  const p = resolve(dirname(cardPath), spec);
  if (!existsSync(p)) throw new FvizError(`file '${p}' named by the card ${cardPath} does not exist`, { subject: p });
  return p;
}

export function catalog(dir = CARDS_DIR): CatalogEntry[] {
  if (!existsSync(dir)) return [];
  const out: CatalogEntry[] = [];
  for (const folder of readdirSync(dir).sort()) {
    const cardPath = join(dir, folder, 'card.json');
    if (!existsSync(cardPath)) continue;
    const card = readCard(cardPath) as unknown as CatalogEntry['card'];
    if (!card.fetch) continue;
    if (typeof card.name !== 'string' || typeof card.model !== 'string' || !card.fetch.download?.url)
      throw new FvizError(`model card ${cardPath} needs name, model and fetch.download.url`, { subject: cardPath });
    out.push({ name: card.name, cardPath, card });
  }
  return out;
}

export function catalogEntry(name: string, dir = CARDS_DIR): CatalogEntry {
  const all = catalog(dir);
  const e = all.find((x) => x.name === name);
  if (!e) {
    const names = all.map((x) => x.name);
    throw new FvizError(`unknown model '${name}': fviz can fetch ${names.join(', ')}${names.length ? ` (nearest: ${nearestNames(name, names, 1)[0]})` : ''}`, { subject: name });
  }
  return e;
}
