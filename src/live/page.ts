// The live page's files: a prebuilt dist/live-page (the npm package), or a vite build of web/live into
// .cache/live-page made on first use and again whenever a source file of the page is newer than it.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FvizError } from '../errors.ts';
import { repoRoot } from '../shared-path.ts';

const STAMP = '.fviz-live-stamp';

/** The newest modification time of the files the page is built from (web/ and the src/ it bundles). */
function newestSource(): number {
  let newest = 0;
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|html|css|json)$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(repoRoot, 'web'));
  walk(join(repoRoot, 'src'));
  return newest;
}

/** Builds the page with vite into `outDir` (vite is a development dependency: present in a checkout). */
export async function buildLivePage(outDir: string): Promise<string> {
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch (e) {
    throw new FvizError(`the live page is not built and vite is not installed: run npm install in the fviz checkout, or use the npm package (it ships dist/live-page)`, { cause: e });
  }
  mkdirSync(outDir, { recursive: true });
  await vite.build({ configFile: join(repoRoot, 'web', 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  writeFileSync(join(outDir, STAMP), String(newestSource()));
  return outDir;
}

/** The folder holding the built page (index.html and assets/). */
export async function livePageDir(): Promise<string> {
  const shipped = join(repoRoot, 'dist', 'live-page');
  if (!existsSync(join(repoRoot, 'web', 'live')) && existsSync(join(shipped, 'index.html'))) return shipped;
  const dir = join(repoRoot, '.cache', 'live-page');
  const stamp = join(dir, STAMP);
  const fresh = existsSync(join(dir, 'index.html')) && existsSync(stamp) && Number(readFileSync(stamp, 'utf8')) >= newestSource();
  if (fresh) return dir;
  if (existsSync(join(repoRoot, 'web', 'live'))) return buildLivePage(dir);
  if (existsSync(join(shipped, 'index.html'))) return shipped;
  throw new FvizError('the live page is missing: neither web/live (a checkout) nor dist/live-page (the package) is here');
}
