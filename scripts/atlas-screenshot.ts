// The README's screenshot of an atlas layer grid, taken in Debian's Chromium through playwright-core from
// the site as `fviz atlas serve` serves it.
//   node bin/run-ts.js scripts/atlas-screenshot.ts DIR LAYER [OUT.png]
// e.g. after the README's example: scripts/atlas-screenshot.ts atlas-3a inception_3a/output docs/atlas-layer-grid.png
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { atlasPaths } from '../src/atlas/paths.ts';
import { serveAtlas } from '../src/atlas/serve.ts';

const [dir, layer, out = 'docs/atlas-layer-grid.png'] = process.argv.slice(2);
if (!dir || !layer) {
  console.error('usage: scripts/atlas-screenshot.ts DIR LAYER [OUT.png]');
  process.exit(2);
}
const served = await serveAtlas(dir, 0);
const profile = mkdtempSync(join(tmpdir(), 'fviz-shot-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1000, height: 700 },
});
try {
  const page = await context.newPage();
  await page.goto(served.url + atlasPaths.layerPage(layer), { waitUntil: 'load' });
  await page.screenshot({ path: out, fullPage: false });
  console.log(`wrote ${out} from ${served.url}${atlasPaths.layerPage(layer)}`);
} finally {
  await context.close();
  await served.close();
  rmSync(profile, { recursive: true, force: true });
}
