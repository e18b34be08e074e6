// Resumable HTTP(S) downloads into a `.part` file: redirects, Range requests (If-Range pins the resumed
// bytes to the same version of the file), an idle timeout, retries after a dropped connection, a progress
// line, and the sha256 of the finished file. What to do with the file is the caller's business.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FvizError } from '../errors.ts';
import { ProgressLine } from '../util/progress.ts';

export interface DownloadOptions {
  /** Seconds without a byte (or without a response) before the attempt fails (default 30). */
  timeoutSeconds?: number;
  /** Further attempts after a connection that dropped mid-transfer (default 3). */
  retries?: number;
  /**
   * Progress of a transfer of 1 MB or more: true (default) draws a line on stderr, false nothing, a
   * function gets (label, total MB) and returns what receives the MB so far and the end.
   */
  progress?: boolean | ProgressReporter;
  /** Label of the progress line (default: the file name of the URL). */
  label?: string;
  /** What to tell the user to do by hand when the host cannot be reached, e.g. 'fviz models add FILE --as googlenet'. */
  manualHint?: string;
}

/** A progress callback: called once per transfer, it returns the sink of that transfer's updates. */
export type ProgressReporter = (label: string, totalMB: number) => { update(doneMB: number): void; done(): void };

const stderrProgress: ProgressReporter = (label, totalMB) => new ProgressLine(label, totalMB, 'MB');

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Bytes that were already in the .part file and not downloaded again. */
  resumedFrom: number;
  /** HTTP requests made (redirects included). */
  requests: number;
}

/** What we remember about a partial download, so a later resume asks for the same version of the file. */
interface PartMeta {
  url: string;
  total?: number;
  etag?: string;
  lastModified?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
/** Connection errors that mean the host is not there (as opposed to a transfer cut short). */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'ETIMEDOUT', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']);

/** A network failure of one attempt: whether anything arrived decides whether a retry makes sense. */
class AttemptError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly host: string,
    readonly connected: boolean,
  ) {
    super(message);
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}

function readMeta(path: string): PartMeta | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PartMeta;
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** Delete a .part file and what we remember about it. */
export function discardPart(partPath: string): void {
  rmSync(partPath, { force: true });
  rmSync(`${partPath}.json`, { force: true });
}

function hostOf(url: URL): string {
  return url.host;
}

interface Response {
  res: http.IncomingMessage;
  url: URL;
}

/** One GET with redirects followed; resolves with the final response (any status but a redirect). */
function get(url: URL, headers: Record<string, string>, timeoutMs: number, counter: { requests: number }, redirectsLeft = MAX_REDIRECTS): Promise<Response> {
  return new Promise((resolvePromise, reject) => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      reject(new FvizError(`cannot download '${url.href}': only http and https URLs are supported`));
      return;
    }
    const lib = url.protocol === 'https:' ? https : http;
    counter.requests++;
    // A fresh connection per request: a kept-alive socket the server has since closed would fail the attempt.
    const req = lib.get(url, { agent: false, headers: { 'user-agent': 'fviz', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (REDIRECTS.has(status)) {
        res.resume();
        const location = res.headers.location;
        if (!location) return reject(new FvizError(`download of ${url.href}: redirect ${status} without a Location`));
        if (redirectsLeft <= 0) return reject(new FvizError(`download of ${url.href}: more than ${MAX_REDIRECTS} redirects`));
        get(new URL(location, url), headers, timeoutMs, counter, redirectsLeft - 1).then(resolvePromise, reject);
        return;
      }
      resolvePromise({ res, url });
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no response for ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new AttemptError(e.message, e.code, hostOf(url), false)));
  });
}

/** "bytes 100-199/200" -> { start: 100, total: 200 }; "bytes *\/200" -> { total: 200 }. */
function parseContentRange(v: string | undefined): { start?: number; total?: number } {
  const m = v ? /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return {};
  return { start: m[1] === undefined ? undefined : Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

function formatMB(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

/** One attempt: ask for the bytes after what the .part holds, append them (or start over on a 200). */
async function attempt(url: URL, partPath: string, opts: Required<Pick<DownloadOptions, 'timeoutSeconds' | 'progress'>> & { label: string }, counter: { requests: number }): Promise<{ complete: boolean; total?: number }> {
  const metaPath = `${partPath}.json`;
  let meta = readMeta(metaPath);
  let have = sizeOf(partPath);
  if (have > 0 && (!meta || meta.url !== url.href)) {
    // A partial file from another URL (or without a record) cannot be trusted to be the start of this one.
    discardPart(partPath);
    have = 0;
    meta = undefined;
  }
  if (have > 0 && meta?.total !== undefined && have === meta.total) return { complete: true, total: meta.total };

  const headers: Record<string, string> = {};
  if (have > 0) {
    headers['range'] = `bytes=${have}-`;
    const validator = meta?.etag && !meta.etag.startsWith('W/') ? meta.etag : meta?.lastModified;
    if (validator) headers['if-range'] = validator;
  }
  const timeoutMs = opts.timeoutSeconds * 1000;
  const { res, url: finalUrl } = await get(url, headers, timeoutMs, counter);
  const status = res.statusCode ?? 0;

  if (status === 416 && have > 0) {
    res.resume();
    const { total } = parseContentRange(res.headers['content-range']);
    if (total === have) return { complete: true, total };
    discardPart(partPath); // the server's file is not what our partial bytes belong to
    throw new AttemptError(`the server refused to resume (416); starting over`, 'ERESTART', hostOf(finalUrl), true);
  }
  if (status !== 200 && status !== 206) {
    res.resume();
    throw new FvizError(`download of ${url.href} failed: HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`, { subject: url.href });
  }

  let offset = 0;
  let total: number | undefined;
  const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  if (status === 206) {
    const range = parseContentRange(res.headers['content-range']);
    if (range.start !== have) {
      res.resume();
      discardPart(partPath);
      throw new AttemptError(`the server resumed at byte ${range.start}, not ${have}; starting over`, 'ERESTART', hostOf(finalUrl), true);
    }
    offset = have;
    total = range.total ?? (length !== undefined ? have + length : undefined);
  } else {
    // 200: the whole file (the server ignored Range, or the file changed since): start clean.
    total = length;
  }
  const etag = res.headers.etag;
  const lastModified = res.headers['last-modified'];
  const newMeta: PartMeta = { url: url.href, ...(total !== undefined ? { total } : {}), ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
  mkdirSync(dirname(partPath), { recursive: true });
  writeFileSync(metaPath, JSON.stringify(newMeta));

  const out = createWriteStream(partPath, offset > 0 ? { flags: 'a' } : { flags: 'w' });
  const report = opts.progress === true ? stderrProgress : opts.progress || undefined;
  const progress = report && total !== undefined && total - offset >= 1e6 ? report(offset > 0 ? `${opts.label} (resumed at ${formatMB(offset)} MB)` : opts.label, formatMB(total - offset)) : undefined;
  let writeError: Error | undefined;
  out.once('error', (e) => (writeError = e));
  let received = 0;
  res.on('data', (chunk: Buffer) => {
    received += chunk.length;
    progress?.update(formatMB(received));
  });
  res.setTimeout(timeoutMs, () => res.destroy(Object.assign(new Error(`stalled: no data for ${opts.timeoutSeconds} s`), { code: 'ETIMEDOUT' })));
  try {
    await pipeline(res, out);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (writeError) throw new FvizError(`cannot write '${partPath}': ${writeError.message}`, { subject: partPath, cause: writeError });
    throw new AttemptError(`connection dropped after ${formatMB(offset + received)} MB (${err.code ?? err.message})`, err.code ?? 'ECONNRESET', hostOf(finalUrl), true);
  }
  const size = sizeOf(partPath);
  if (total !== undefined && size !== total)
    throw new AttemptError(`connection closed at ${size} of ${total} bytes`, 'ECONNRESET', hostOf(finalUrl), true);
  if (total === undefined) writeFileSync(metaPath, JSON.stringify({ ...newMeta, total: size }));
  progress?.done();
  return { complete: true, total: total ?? size };
}

/**
 * Download `url` into `partPath`, resuming what an earlier attempt left there. On success the .part file
 * holds the whole file (the caller verifies and moves it); on failure it keeps what arrived, for a resume.
 */
export async function download(urlText: string, partPath: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  let url: URL;
  try {
    url = new URL(urlText);
  } catch {
    throw new FvizError(`'${urlText}' is not a URL`, { subject: urlText });
  }
  const settings = {
    timeoutSeconds: opts.timeoutSeconds ?? 30,
    progress: opts.progress ?? true,
    label: opts.label ?? (decodeURIComponent(url.pathname.split('/').pop() || url.host)),
  };
  const retries = opts.retries ?? 3;
  const counter = { requests: 0 };
  const resumedFrom = readMeta(`${partPath}.json`)?.url === url.href ? sizeOf(partPath) : 0;
  for (let tryNo = 0; ; tryNo++) {
    try {
      await attempt(url, partPath, settings, counter);
      break;
    } catch (e) {
      if (!(e instanceof AttemptError)) throw e;
      const hint = opts.manualHint ? `: download ${url.href} by hand and run ${opts.manualHint}` : '';
      if (!e.connected && e.code !== undefined && UNREACHABLE.has(e.code))
        throw new FvizError(`cannot reach ${e.host} (${e.code ?? e.message})${hint}`, { subject: e.host, cause: e });
      if (tryNo >= retries)
        throw new FvizError(`download of ${url.href} failed after ${tryNo + 1} attempts: ${e.message}; run the command again to resume${opts.manualHint ? `, or download it by hand and run ${opts.manualHint}` : ''}`, { subject: url.href, cause: e });
      if (settings.progress) process.stderr.write(`${settings.label}: ${e.message}; resuming\n`);
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** tryNo, 5000)));
    }
  }
  const bytes = sizeOf(partPath);
  return { path: partPath, bytes, sha256: await sha256File(partPath), resumedFrom, requests: counter.requests };
}
