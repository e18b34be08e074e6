// Installing models into the cache: from a download (`fetchModel`) or a local file (`addModel`), verified
// against the sha256 the card records, converted from Caffe where the card says so, the card written beside
// the model with the files it names, all built in a temporary folder and renamed into place in one step.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { FvizError } from '../errors.ts';
import { cardPathFor } from '../classifier/card.ts';
import { convertCaffeFiles } from '../caffe/convert.ts';
import { findPreSoftmax } from '../classifier/logits.ts';
import type { Model } from '../onnx/ir.ts';
import { prepareModel } from '../onnx/prepare.ts';
import { readModel } from '../onnx/proto.ts';
import { deriveCaffe2Aliases } from './caffe-aliases.ts';
import { catalog, catalogEntry, resolveCardFile, type CatalogEntry } from './catalog.ts';
import { discardPart, download, sha256File, type DownloadOptions } from './fetch.ts';
import { installedCardFile, installedModelFile } from './installed.ts';
import { modelsCacheDir } from './registry.ts';
import { extractZipMember, looksLikeZip } from './zip.ts';

export interface InstallOptions {
  /** Expected sha256 of the file, instead of (or where the card has none) the card's. */
  sha256?: string;
  /** Deploy prototxt for a Caffe conversion, instead of the card's. */
  prototxt?: string;
  /** Prototxt whose Caffe names become aliases, instead of the card's `aliasesFrom`. */
  aliasPrototxt?: string;
  /** Replace an installed copy (fetch leaves an installed model alone without it). */
  force?: boolean;
  /** Where the repository cards are (tests). */
  cardsDir?: string;
  /** Status lines (converting, warnings). */
  log?: (line: string) => void;
}

export interface FetchModelOptions extends InstallOptions, DownloadOptions {
  /** Download from here instead of the card's URL (a mirror, or a local server in tests). */
  url?: string;
}

export interface InstalledModel {
  name: string;
  dir: string;
  modelPath: string;
  cardPath?: string;
  /** sha256 and size of the installed .onnx. */
  sha256: string;
  bytes: number;
  /** Where it came from (URL or file) and that file's sha256. */
  source: string;
  sourceSha256: string;
  /** How the source's hash was checked: against the card, against --sha256, or not at all (a local file with no recorded hash). */
  verified: 'card' | 'option' | 'unverified';
  /** Aliases written into the installed card. */
  aliases: number;
  preSoftmax?: string;
  /** True when fetch found it installed and did nothing. */
  alreadyInstalled?: boolean;
}

const HEX64 = /^[0-9a-f]{64}$/;

function normalizeHash(h: string | undefined | null, what: string): string | undefined {
  if (h === undefined || h === null) return undefined;
  const v = h.trim().toLowerCase();
  if (!HEX64.test(v)) throw new FvizError(`${what} '${h}' is not a sha256 (64 hex digits)`);
  return v;
}

const cardFileOf = installedCardFile;

// ------------------------------------------------------------------ staging and the atomic swap

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove staging folders that a killed fviz left behind (`.tmp-<name>-<pid>-*`, `.old-<name>-<pid>-*`). */
function removeStale(cache: string, name: string): void {
  for (const f of readdirSync(cache)) {
    const m = /^\.(?:tmp|old)-(.+)-(\d+)-[^-]+$/.exec(f);
    if (m && m[1] === name && Number(m[2]) !== process.pid && !pidAlive(Number(m[2]))) rmSync(join(cache, f), { recursive: true, force: true });
  }
}

/** Run `work` holding `<path>.lock`, so two fviz processes never write the same download or model folder. */
async function withLock<T>(path: string, what: string, work: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  for (let tries = 0; ; tries++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw e;
      const holder = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(holder) && holder !== process.pid && pidAlive(holder))
        throw new FvizError(`another fviz (pid ${holder}) is installing ${what}: wait for it, or delete ${lock} if it is gone`, { subject: lock });
      rmSync(lock, { force: true }); // left by a process that no longer runs
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Build a model folder in a temporary folder of the cache, then rename it over `<cache>/<name>`. */
function stageAndSwap<T>(name: string, build: (tmp: string) => Promise<T>): Promise<T> {
  const cache = modelsCacheDir();
  return withLock(join(cache, `.${name}`), name, () => swapIn(cache, name, build));
}

function swapIn<T>(cache: string, name: string, build: (tmp: string) => Promise<T>): Promise<T> {
  removeStale(cache, name);
  const tmp = mkdtempSync(join(cache, `.tmp-${name}-${process.pid}-`));
  return build(tmp).then(
    (result) => {
      const dest = join(cache, name);
      let old: string | undefined;
      if (existsSync(dest)) {
        old = join(cache, `.old-${name}-${process.pid}-${Date.now()}`);
        renameSync(dest, old);
      }
      try {
        renameSync(tmp, dest);
      } catch (e) {
        if (old) renameSync(old, dest);
        rmSync(tmp, { recursive: true, force: true });
        throw new FvizError(`cannot install into '${dest}': ${(e as Error).message}`, { subject: dest, cause: e });
      }
      if (old) rmSync(old, { recursive: true, force: true });
      return result;
    },
    (e: unknown) => {
      rmSync(tmp, { recursive: true, force: true });
      throw e;
    },
  );
}

// ------------------------------------------------------------------ what a source file is

type SourceKind = 'onnx' | 'zip' | 'caffemodel';

function kindOf(file: string): SourceKind {
  const ext = extname(file).toLowerCase();
  if (ext === '.onnx') return 'onnx';
  if (ext === '.caffemodel') return 'caffemodel';
  if (ext === '.zip' || looksLikeZip(file)) return 'zip';
  throw new FvizError(`'${file}' is neither an .onnx model, a .caffemodel nor a .zip archive`, { subject: file });
}

/** The sha256 the card records for a file of this kind (the download itself, or the archive's member). */
function cardHashFor(entry: CatalogEntry, kind: SourceKind): string | undefined {
  const d = entry.card.fetch.download;
  const downloadKind = extname(d.file).toLowerCase() === '.zip' ? 'zip' : extname(d.file).toLowerCase() === '.onnx' ? 'onnx' : 'caffemodel';
  if (kind === downloadKind) return normalizeHash(d.sha256, `the sha256 in ${entry.cardPath}`);
  if (kind === 'caffemodel' && d.member) return normalizeHash(d.memberSha256, `the member sha256 in ${entry.cardPath}`);
  return undefined;
}

// ------------------------------------------------------------------ building the installed folder

interface BuildInput {
  entry: CatalogEntry;
  file: string;
  kind: SourceKind;
  source: string;
  sourceSha256: string;
  verified: InstalledModel['verified'];
  opts: InstallOptions;
}

function checkGenerator(model: Model, entry: CatalogEntry): void {
  const g = model.graph;
  const codeSize = entry.card['codeSize'] as number | undefined;
  const input = g.inputs[0];
  if (g.inputs.length !== 1 || !input || (codeSize !== undefined && input.shape[input.shape.length - 1] !== codeSize))
    throw new FvizError(`the converted generator takes [${g.inputs.map((i) => `${i.name}: ${i.shape}`).join('; ')}], not one N x ${codeSize} code as its card says`);
  const out = g.outputs[0];
  if (g.outputs.length !== 1 || !out || out.shape.length !== 4 || out.shape[1] !== 3)
    throw new FvizError(`the converted generator outputs [${g.outputs.map((o) => `${o.name}: ${o.shape}`).join('; ')}], not one N x 3 x H x W image`);
}

async function buildModelFolder(tmp: string, b: BuildInput): Promise<InstalledModel> {
  const { entry, opts } = b;
  const log = opts.log ?? (() => {});
  const card: Record<string, unknown> = { ...entry.card };
  const fetch = entry.card.fetch;
  delete card['fetch'];
  const modelPath = join(tmp, entry.card.model);

  let model: Model | undefined;
  let caffemodel: string | undefined;
  if (b.kind === 'zip') {
    if (!fetch.download.member) throw new FvizError(`'${b.file}' is an archive, but the card of '${entry.name}' names no member to take from it`);
    caffemodel = join(tmp, basename(fetch.download.member));
    log(`extracting ${fetch.download.member}`);
    await extractZipMember(b.file, fetch.download.member, caffemodel);
  } else if (b.kind === 'caffemodel') caffemodel = b.file;

  let convertedWith: string | undefined;
  if (caffemodel) {
    if (!fetch.convert && !opts.prototxt) throw new FvizError(`'${entry.name}' is not made from a Caffe model: add its .onnx file instead`);
    const prototxt = opts.prototxt ? resolve(opts.prototxt) : resolveCardFile(fetch.convert!.prototxt, entry.cardPath);
    convertedWith = basename(prototxt);
    log(`converting ${basename(caffemodel)} with ${convertedWith} (Caffe -> ONNX)`);
    model = convertCaffeFiles(prototxt, caffemodel, modelPath).model;
    if (caffemodel !== b.file) rmSync(caffemodel, { force: true });
  } else {
    copyFileSync(b.file, modelPath);
  }

  for (const [dest, src] of Object.entries(fetch.files ?? {})) copyFileSync(resolveCardFile(src, entry.cardPath), join(tmp, dest));

  let aliases = 0;
  let preSoftmax: string | undefined;
  if (fetch.kind === 'generator') {
    checkGenerator(model ?? readModel(modelPath), entry);
  } else {
    const raw = readModel(modelPath); // refuses what is not an ONNX model
    let prepared: Model | undefined;
    try {
      prepared = prepareModel(raw, { source: modelPath });
    } catch (e) {
      log(`warning: fviz cannot prepare the model (${(e as Error).message}); installed without derived aliases`);
    }
    if (prepared) {
      preSoftmax = (card['preSoftmax'] as string | undefined) ?? findPreSoftmax(prepared.graph);
      if (preSoftmax) card['preSoftmax'] = preSoftmax;
      const aliasSource = opts.aliasPrototxt ? resolve(opts.aliasPrototxt) : fetch.aliasesFrom ? resolveCardFile(fetch.aliasesFrom, entry.cardPath) : undefined;
      if (aliasSource) {
        const derived = deriveCaffe2Aliases(readFileSync(aliasSource, 'utf8'), prepared.graph, aliasSource);
        const merged = { ...derived.aliases, ...((card['aliases'] as Record<string, string> | undefined) ?? {}) };
        aliases = Object.keys(merged).length;
        if (aliases > 0) card['aliases'] = merged;
        log(`layer aliases: ${Object.keys(derived.aliases).length} Caffe names of ${basename(aliasSource)} matched${derived.missing.length ? `, ${derived.missing.length} without a tensor of the same shape (${derived.missing.slice(0, 5).join(', ')}${derived.missing.length > 5 ? ', ...' : ''})` : ''}`);
      }
    }
  }

  const sha256 = await sha256File(modelPath);
  const bytes = statSync(modelPath).size;
  card['installed'] = {
    source: b.source,
    sourceSha256: b.sourceSha256,
    verified: b.verified,
    ...(convertedWith ? { convertedWith } : {}),
    sha256,
    bytes,
    at: new Date().toISOString(),
  };
  writeFileSync(join(tmp, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  return { name: entry.name, dir: tmp, modelPath, cardPath: join(tmp, 'card.json'), sha256, bytes, source: b.source, sourceSha256: b.sourceSha256, verified: b.verified, aliases, preSoftmax };
}

/** Move the paths of a staged result to where the swap put them. */
function relocate(r: InstalledModel): InstalledModel {
  const dir = join(modelsCacheDir(), r.name);
  return { ...r, dir, modelPath: join(dir, basename(r.modelPath)), cardPath: r.cardPath ? join(dir, 'card.json') : undefined };
}

async function installVerified(b: BuildInput): Promise<InstalledModel> {
  return relocate(await stageAndSwap(b.entry.name, (tmp) => buildModelFolder(tmp, b)));
}

// ------------------------------------------------------------------ public entry points

/** The installed copy of a known or added model, if any. */
export function installedModel(name: string): { dir: string; modelPath: string; card?: Record<string, unknown> } | undefined {
  const dir = join(modelsCacheDir(), name);
  const modelPath = installedModelFile(dir);
  if (!modelPath) return undefined;
  const cardPath = cardFileOf(dir);
  let card: Record<string, unknown> | undefined;
  try {
    card = cardPath ? (JSON.parse(readFileSync(cardPath, 'utf8')) as Record<string, unknown>) : undefined;
  } catch {
    card = undefined;
  }
  return { dir, modelPath, card };
}

/** Every file the card needs at install time exists (shared reference files, the conversion prototxt). */
function checkCardFiles(entry: CatalogEntry, opts: InstallOptions): void {
  const f = entry.card.fetch;
  for (const src of Object.values(f.files ?? {})) resolveCardFile(src, entry.cardPath);
  if (f.convert && !opts.prototxt) resolveCardFile(f.convert.prototxt, entry.cardPath);
  if (f.aliasesFrom && !opts.aliasPrototxt) resolveCardFile(f.aliasesFrom, entry.cardPath);
}

function partPathFor(entry: CatalogEntry): string {
  return join(modelsCacheDir(), '.partial', `${entry.card.fetch.download.file}.part`);
}

/**
 * Download a known model, check its sha256, convert it if the card says so, and install it with its card.
 * Without a recorded sha256 (card or `sha256`) nothing is installed: the error names the hash computed, and
 * the download stays in the cache so that running again with that hash installs it without downloading again.
 */
export async function fetchModel(name: string, opts: FetchModelOptions = {}): Promise<InstalledModel> {
  const entry = catalogEntry(name, opts.cardsDir);
  const installed = installedModel(name);
  if (installed && !opts.force) {
    const info = (installed.card?.['installed'] ?? {}) as Partial<InstalledModel>;
    return {
      name,
      dir: installed.dir,
      modelPath: installed.modelPath,
      cardPath: cardFileOf(installed.dir),
      sha256: info.sha256 ?? (await sha256File(installed.modelPath)),
      bytes: statSync(installed.modelPath).size,
      source: info.source ?? '',
      sourceSha256: info.sourceSha256 ?? '',
      verified: info.verified ?? 'unverified',
      aliases: Object.keys((installed.card?.['aliases'] as object | undefined) ?? {}).length,
      alreadyInstalled: true,
    };
  }
  const d = entry.card.fetch.download;
  const fromOption = normalizeHash(opts.sha256, '--sha256');
  const expected = fromOption ?? normalizeHash(d.sha256, `the sha256 in ${entry.cardPath}`);
  checkCardFiles(entry, opts); // before a long download, not after it
  const url = opts.url ?? d.url;
  const part = partPathFor(entry);
  return withLock(part, d.file, async () => {
    const got = await download(url, part, { ...opts, label: opts.label ?? d.file, manualHint: `fviz models add FILE --as ${name}` });
    if (!expected) {
      throw new FvizError(
        `downloaded ${d.file} (${got.bytes} bytes, sha256 ${got.sha256}) but nothing records its sha256, so it was not installed: if you trust that hash, run fviz models fetch ${name} --sha256 ${got.sha256} (the download is kept in ${part})`,
        { subject: name },
      );
    }
    if (got.sha256 !== expected) {
      discardPart(part);
      throw new FvizError(
        `${url} gave a file with sha256 ${got.sha256}, not ${expected}${fromOption ? ' as given' : ' as the card records'}: it was deleted and nothing was installed`,
        { subject: name },
      );
    }
    const result = await installVerified({
      entry,
      file: part,
      kind: kindOf(d.file),
      source: url,
      sourceSha256: got.sha256,
      verified: fromOption ? 'option' : 'card',
      opts,
    });
    discardPart(part);
    return result;
  });
}

export interface AddModelOptions extends InstallOptions {
  /** Install under this name (default: inferred from the file: a known model's hash or a Caffe file -> its model, else the file name). */
  as?: string;
}

function inferName(file: string, kind: SourceKind, hash: string, cardsDir?: string): string {
  const known = catalog(cardsDir);
  for (const e of known) {
    const d = e.card.fetch.download;
    if (d.sha256 === hash || d.memberSha256 === hash) return e.name;
  }
  if (kind !== 'onnx') {
    const caffe = known.filter((e) => e.card.fetch.convert);
    if (caffe.length === 1) return caffe[0]!.name;
    throw new FvizError(`'${file}' is a Caffe model or archive: name the model it is with --as (${caffe.map((e) => e.name).join(', ')})`);
  }
  return basename(file, extname(file)).replace(/[^A-Za-z0-9._-]+/g, '-');
}

/** Install a local file: a known model's .onnx (or Caffe weights / archive, converted), or any .onnx under a new name. */
export async function addModel(file: string, opts: AddModelOptions = {}): Promise<InstalledModel> {
  const abs = resolve(file);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new FvizError(`file '${file}' does not exist`, { subject: file });
  const kind = kindOf(abs);
  const hash = await sha256File(abs);
  const name = opts.as ?? inferName(abs, kind, hash, opts.cardsDir);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new FvizError(`model name '${name}' may hold only letters, digits, '.', '_' and '-'`);
  const entry = catalog(opts.cardsDir).find((e) => e.name === name);
  const fromOption = normalizeHash(opts.sha256, '--sha256');

  if (!entry) {
    if (kind !== 'onnx') throw new FvizError(`'${name}' is not a model fviz knows how to convert: add an .onnx file, or use fviz models convert-caffe first`);
    if (fromOption && fromOption !== hash) throw new FvizError(`'${file}' has sha256 ${hash}, not ${fromOption} as given: nothing was installed`, { subject: file });
    return relocate(
      await stageAndSwap(name, async (tmp) => {
        const modelPath = join(tmp, `${name}.onnx`);
        readModel(abs); // refuse what is not an ONNX model
        copyFileSync(abs, modelPath);
        const beside = cardPathFor(abs);
        const card: Record<string, unknown> = beside ? (JSON.parse(readFileSync(beside, 'utf8')) as Record<string, unknown>) : { name };
        card['model'] = `${name}.onnx`;
        const verified: InstalledModel['verified'] = fromOption ? 'option' : 'unverified';
        card['installed'] = { source: abs, sourceSha256: hash, verified, sha256: hash, bytes: statSync(abs).size, at: new Date().toISOString() };
        if (beside) opts.log?.(`card: ${beside} (files it names are not copied)`);
        writeFileSync(join(tmp, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
        return { name, dir: tmp, modelPath, cardPath: join(tmp, 'card.json'), sha256: hash, bytes: statSync(abs).size, source: abs, sourceSha256: hash, verified, aliases: 0 };
      }),
    );
  }

  const expected = fromOption ?? cardHashFor(entry, kind);
  if (expected && expected !== hash)
    throw new FvizError(`'${file}' has sha256 ${hash}, not ${expected}${fromOption ? ' as given' : ` as the card of '${name}' records`}: nothing was installed`, { subject: file });
  return installVerified({ entry, file: abs, kind, source: abs, sourceSha256: hash, verified: fromOption ? 'option' : expected ? 'card' : 'unverified', opts });
}

export interface ModelListing {
  name: string;
  kind: 'classifier' | 'generator' | 'model';
  installed: boolean;
  /** The installed .onnx (or where it would go). */
  path: string;
  bytes?: number;
  sha256?: string;
  /** For a model not installed: where fetch gets it, and the size and hash it expects. */
  url?: string;
  expectedSha256?: string | null;
  description?: string;
}

/** Every known model, installed or not, and every other model installed in the cache. */
export function listModels(opts: { cardsDir?: string } = {}): ModelListing[] {
  const cache = modelsCacheDir();
  const out: ModelListing[] = [];
  const seen = new Set<string>();
  const describe = (name: string, kind: ModelListing['kind'], defaultPath: string, extra: Partial<ModelListing>) => {
    seen.add(name);
    const inst = installedModel(name);
    const info = (inst?.card?.['installed'] ?? {}) as { sha256?: string };
    out.push({
      name,
      kind,
      installed: !!inst,
      path: inst?.modelPath ?? defaultPath,
      ...(inst ? { bytes: statSync(inst.modelPath).size, sha256: info.sha256 } : {}),
      ...extra,
    });
  };
  for (const e of catalog(opts.cardsDir)) {
    const d = e.card.fetch.download;
    describe(e.name, e.card.fetch.kind, join(cache, e.name, e.card.model), {
      url: d.url,
      expectedSha256: d.sha256,
      description: e.card['description'] as string | undefined,
    });
  }
  if (existsSync(cache))
    for (const folder of readdirSync(cache).sort()) {
      if (folder.startsWith('.') || seen.has(folder) || !statSync(join(cache, folder)).isDirectory()) continue;
      if (installedModel(folder)) describe(folder, 'model', '', {});
    }
  return out;
}
