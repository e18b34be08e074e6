// `fviz atlas serve DIR`: the site on a loopback port, for a look without a web server. Static files only;
// nothing outside DIR is served.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { FvizError } from '../errors.ts';
import { PLAN_FILE } from './paths.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.json': 'application/json',
  '.js': 'text/javascript',
};

export interface Served {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Serves `dir` on 127.0.0.1 (port 0: any free one). */
export async function serveAtlas(dir: string, port = 8080, host = '127.0.0.1'): Promise<Served> {
  const root = resolve(dir);
  if (!existsSync(join(root, 'index.html'))) throw new FvizError(`'${dir}' has no site (no index.html${existsSync(join(root, PLAN_FILE)) ? '; its atlas is not finished' : ''}): give the --out of a finished fviz atlas`, { subject: dir });
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if ((file !== root && !file.startsWith(root + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(new FvizError(`cannot serve on ${host}:${port}: ${e.code ?? e.message}; choose another --port`)));
    server.listen(port, host, () => ok());
  });
  const actual = (server.address() as { port: number }).port;
  return { url: `http://${host}:${actual}/`, port: actual, server, close: () => new Promise((r) => server.close(() => r())) };
}
