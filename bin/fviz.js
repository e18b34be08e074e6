#!/usr/bin/env node
// The fviz command. In the published package (no src/ beside bin/) it runs the compiled dist/; in a
// checkout it runs the TypeScript sources through tsx (a devDependency), so a stale dist/ is never what a
// developer runs. FVIZ_DIST=1 forces dist/ in a checkout (benches of the compiled start-up).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (process.env.FVIZ_DIST !== '1' && existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import('../dist/cli/main.js');
}
