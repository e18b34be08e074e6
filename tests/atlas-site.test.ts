// The atlas's site in Debian's Chromium (playwright-core), served by `fviz atlas serve`'s server: index ->
// model -> layer grid -> unit page; every image loads (upscaled with nearest-neighbour sampling), every
// link of the pages visited answers.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAtlas, serveAtlas, type AtlasResult, type Served } from '../src/index.ts';
import { writeSyntheticCifar } from './helpers/cifar-synthetic.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('the atlas site in Chromium', () => {
  let root: string;
  let atlas: AtlasResult;
  let served: Served;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    root = mkdtempSync(join(tmpdir(), 'fviz-atlas-site-'));
    writeSyntheticCifar(join(root, 'cifar'), 20);
    atlas = await runAtlas({
      layers: 'inception_3a/output,inception_4a/output',
      methods: 'fourier,naive',
      units: '0-3',
      batch: 2,
      steps: 8,
      dataset: join(root, 'cifar'),
      out: join(root, 'atlas'),
    });
    served = await serveAtlas(join(root, 'atlas'), 0);
    context = await chromium.launchPersistentContext(join(root, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 900 },
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
    });
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await served?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Every image of the page decoded with a size; every link answers 200. */
  async function checkPage(): Promise<{ images: number; links: number }> {
    const images = await page.$$eval('img', (els) => els.map((e) => ({ src: e.getAttribute('src'), ok: e.complete && e.naturalWidth > 0 })));
    expect(images.filter((i) => !i.ok)).toEqual([]);
    const links = await page.$$eval('a', (els) => els.map((e) => e.href));
    for (const href of links) {
      const r = await page.request.get(href);
      expect(r.status(), href).toBe(200);
    }
    return { images: images.length, links: links.length };
  }

  it('index -> model -> layer grid -> unit page, images loaded and upscaled crisply, links answering', async () => {
    await page.goto(served.url, { waitUntil: 'load' });
    expect(await page.title()).toBe('fviz atlas');
    await checkPage();

    await page.click('a[href="model.html"]');
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toBe('classifier.onnx');
    await checkPage();

    await page.click('a[href="layers/inception_4a_output.html"]');
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toBe('inception_4a/output');
    const grid = await checkPage();
    expect(await page.locator('.grid img').count()).toBe(4);
    expect(grid.images).toBe(4);
    // 32-pixel renders shown at 96 pixels, sampled nearest-neighbour.
    const shown: unknown = await page.evaluate(`(() => { const e = document.querySelector('.grid img'); return { w: e.naturalWidth, box: e.getBoundingClientRect().width, rendering: getComputedStyle(e).imageRendering }; })()`);
    expect(shown).toEqual({ w: 32, box: 96, rendering: 'pixelated' });

    await page.click('.grid a >> nth=2');
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toBe('inception_4a/output unit 2');
    const unit = await checkPage();
    // two methods, their progressions, the dataset sheet
    expect(await page.locator('.methods figure').count()).toBe(4);
    expect(unit.images).toBe(5);
    expect(await page.locator('img[alt="dataset examples of unit 2"]').count()).toBe(1);
    expect(await page.locator('pre').first().innerText()).toMatch(/^fviz atlas --model embedded --layers 'inception_4a\/output' --methods fourier --seeds 1 --steps 8 --batch 2 --units 2-3 --out DIR$/);
    expect(problems).toEqual([]);
    expect(atlas.plan.renders).toBe(16);
  }, 120_000);
});
