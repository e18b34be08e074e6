// docs/live-page.png: the live page (fviz serve) in Debian's Chromium after a DGN-AM run on the embedded
// pair, as the README shows it (docs/live-page-ppgn.png: --method ppgn). Usage: node bin/run-ts.js
//   scripts/live-screenshot.ts [--out PATH] [--method dgn] [--objective class:cat] [--steps 60] [--seed 0]
// The method is chosen on the page's menu, so its settings start from the page's defaults for it.
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { serveLive } from '../src/live/server.ts';
import { repoRoot } from '../src/shared-path.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const out = arg('out', join(repoRoot, 'docs', 'live-page.png'));
const method = arg('method', 'dgn');
const settings = { objective: arg('objective', 'class:cat'), steps: Number(arg('steps', '60')), seed: Number(arg('seed', '0')) };

const server = await serveLive({ port: 0 });
const profile = mkdtempSync(join(tmpdir(), 'fviz-shot-'));
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  viewport: { width: 1100, height: 720 },
});
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}?threads=2`);
  await page.evaluate(async () => (globalThis as unknown as { fvizLive: Promise<unknown> }).fvizLive);
  await page.selectOption('#method', method);
  const run = await page.evaluate(async (s) => {
    const live = await (globalThis as unknown as { fvizLive: Promise<{ set(s: unknown): void; run(): Promise<{ error: string | null; history: number[][] }> }> }).fvizLive;
    live.set(s);
    return live.run();
  }, settings);
  if (run.error) throw new Error(run.error);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}: ${method} ${settings.objective} ${run.history[0]![0]!.toFixed(3)} -> ${run.history.at(-1)![0]!.toFixed(3)} in ${settings.steps} steps`);
} finally {
  await browser.close();
  await server.close();
  rmSync(profile, { recursive: true, force: true });
}
