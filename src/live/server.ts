// `fviz serve`: the live page on a local HTTP server (node:http). Loopback only unless the caller asks
// for another address (the CLI's --host). Every response carries the cross-origin isolation headers, so
// the page may use SharedArrayBuffer and onnxruntime-web runs its wasm with threads. Nothing comes from a
// CDN: the page (page.ts), onnxruntime-web's wasm files (from the installed package) and the compiled
// programs (programs.ts) are all served from here.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { FvizError } from '../errors.ts';
import { LivePrograms, type LiveModelOptions } from './programs.ts';
import { livePageDir } from './page.ts';
import type { EncodeRequest, EncodeResponse, ErrorResponse, ProgramRequest, ProgramResponse } from './protocol.ts';

export interface ServeOptions extends LiveModelOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 7860; 0: any free port). */
  port?: number;
  /** Allow a non-loopback host (the CLI sets this when --host is given). */
  allowRemote?: boolean;
  /** Serve this folder at /atlas/ (a static atlas beside the page). */
  atlas?: string;
  log?: (line: string) => void;
}

export interface LiveServer {
  url: string;
  programs: LivePrograms;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.onnx': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
};

/** The folder of onnxruntime-web's wasm builds (ort-wasm-*.wasm / .mjs) in the installed package. */
export function ortWebDir(): string {
  const req = createRequire(import.meta.url);
  let main: string;
  try {
    main = req.resolve('onnxruntime-web'); // .../onnxruntime-web/dist/ort.*.js (its package.json is not exported)
  } catch (e) {
    throw new FvizError('onnxruntime-web is not installed: run npm install (fviz depends on it for the live page)', { cause: e });
  }
  return dirname(main);
}

function isolationHeaders(res: ServerResponse): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, line: string): void {
  const body: ErrorResponse = { error: line };
  sendJson(res, status, body);
}

/** A file under `root` named by a URL path, or undefined (outside root, missing, a folder). */
function fileUnder(root: string, rel: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rel);
  } catch {
    return undefined;
  }
  const p = normalize(join(root, decoded));
  if (p !== root && !p.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
  if (!existsSync(p) || !statSync(p).isFile()) return undefined;
  return p;
}

function sendFile(res: ServerResponse, path: string, cache = 'no-cache'): void {
  res.writeHead(200, { 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream', 'Content-Length': statSync(path).size, 'Cache-Control': cache });
  createReadStream(path).pipe(res);
}

async function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new FvizError(`request body over ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim();
}

/** Starts the live server; resolves once it listens. */
export async function serveLive(opts: ServeOptions = {}): Promise<LiveServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host) && !opts.allowRemote)
    throw new FvizError(`refusing to serve on ${host}: fviz serve binds to loopback (127.0.0.1) unless asked with --host ${host}; anyone who can reach that address can use the page`);
  const programs = new LivePrograms(opts);
  const pageDir = await livePageDir();
  const ortDir = ortWebDir();
  const log = opts.log ?? (() => {});

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    isolationHeaders(res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/api/program') {
      let body: ProgramRequest;
      try {
        body = JSON.parse(await readBody(req)) as ProgramRequest;
      } catch (e) {
        return sendError(res, 400, e instanceof FvizError ? e.message : 'the request body is not JSON: send {"method": "dgn" | "pixel", "objective": "class:cat"}');
      }
      try {
        const p = await programs.program(body);
        const { data: _data, ...out } = p;
        log(`compiled ${body.method} ${body.objective} (${p.bytes} bytes, ${p.compileMs} ms)`);
        return sendJson(res, 200, out satisfies ProgramResponse);
      } catch (e) {
        if (e instanceof FvizError) return sendError(res, 400, e.message);
        return sendError(res, 500, `compiling the program failed: ${oneLine(e)}`);
      }
    }
    if (req.method === 'POST' && path === '/api/encode') {
      try {
        const body = JSON.parse(await readBody(req, 1 << 20)) as EncodeRequest;
        return sendJson(res, 200, (await programs.encode(body.image)) satisfies EncodeResponse);
      } catch (e) {
        if (e instanceof FvizError) return sendError(res, 400, e.message);
        if (e instanceof SyntaxError) return sendError(res, 400, 'the request body is not JSON: send {"image": [1 x 3 x H x W numbers]}');
        return sendError(res, 500, `encoding the image failed: ${oneLine(e)}`);
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, `${req.method} is not served: the page uses GET, and POST /api/program`);
    if (path === '/api/info') return sendJson(res, 200, programs.info());
    if (path === '/api/spectrum') {
      try {
        return sendJson(res, 200, await programs.spectrum());
      } catch (e) {
        if (e instanceof FvizError) return sendError(res, 400, e.message);
        return sendError(res, 500, `computing the average spectrum failed: ${oneLine(e)}`);
      }
    }
    const prog = /^\/api\/program\/([0-9a-f]{16})\.onnx$/.exec(path);
    if (prog) {
      const p = programs.get(prog[1]!);
      if (!p) return sendError(res, 404, `no program ${prog[1]}: POST /api/program first`);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': p.data.length, 'Cache-Control': 'no-store' });
      return void res.end(p.data);
    }
    if (path.startsWith('/ort/')) {
      const name = path.slice(5);
      if (!/^ort-wasm-simd-threaded(\.[a-z]+)?\.(wasm|mjs)$/.test(name)) return sendError(res, 404, `${name}: not an onnxruntime-web wasm file`);
      const f = fileUnder(ortDir, name);
      return f ? sendFile(res, f, 'max-age=3600') : sendError(res, 404, `${name} is missing from ${ortDir}: reinstall onnxruntime-web`);
    }
    if (opts.atlas && path.startsWith('/atlas/')) {
      const f = fileUnder(opts.atlas, path.slice(7) || 'index.html');
      return f ? sendFile(res, f) : sendError(res, 404, `${path}: not in the atlas folder`);
    }
    const f = fileUnder(pageDir, path === '/' ? 'index.html' : path.slice(1));
    if (f) return sendFile(res, f);
    return sendError(res, 404, `${path}: not found`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) sendError(res, 500, oneLine(e));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new FvizError(`port ${opts.port} on ${host} is in use: choose another with --port P (0: any free port)`) : e),
    );
    server.listen(opts.port ?? 7860, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}/`,
    programs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
