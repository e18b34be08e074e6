// report.html in real headless Chromium (Debian's package, driven by playwright-core): it opens from disk
// with no server, every image decodes, the table has one row per (objective, method, seed), clicking a
// header sorts by that column, and the console stays free of errors. A screenshot goes to tests/artifacts/.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, type CompareResult } from '../src/compare/compare.ts';
import { compareGrid, writeCompareModels } from './helpers/compare-models.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, 'artifacts');

describe('report.html in headless Chromium', () => {
  let root: string;
  let result: CompareResult;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    root = mkdtempSync(join(tmpdir(), 'fviz-report-'));
    const models = writeCompareModels(join(root, 'models'));
    result = await compare(compareGrid(models, join(root, 'out'), 10));
    // A fresh profile each time; launchPersistentContext passes it as --user-data-dir.
    context = await chromium.launchPersistentContext(join(root, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('requestfailed', (r) => consoleErrors.push(`requestfailed: ${r.url().slice(0, 80)}`));
    await page.goto(pathToFileURL(join(root, 'out', 'report.html')).href, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await context?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('is self-contained: no src or href outside data: URIs and its own folder', () => {
    const html = readFileSync(join(root, 'out', 'report.html'), 'utf8');
    const srcs = [...html.matchAll(/\ssrc="([^"]*)"/g)].map((m) => m[1]!);
    expect(srcs.length).toBeGreaterThan(12);
    for (const s of srcs) expect(s.startsWith('data:image/png;base64,'), s.slice(0, 40)).toBe(true);
    for (const [, h] of html.matchAll(/\shref="([^"]*)"/g)) expect(h!, h).toMatch(/^(data:|runs\/|[a-z]+\.(png|json|csv)$)/);
  });

  it('loads every image', async () => {
    const sizes = await page.$$eval('img', (imgs) => imgs.map((i) => ({ id: i.id, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight })));
    expect(sizes.length).toBe(2 + 12);
    for (const s of sizes) {
      expect(s.complete).toBe(true);
      expect(s.w).toBeGreaterThan(0);
      expect(s.h).toBeGreaterThan(0);
    }
    const sheet = sizes.find((s) => s.id === 'sheet')!;
    expect(sheet.w).toBeGreaterThan(400);
  });

  it('has one table row per (objective, method, seed)', async () => {
    const keys = await page.$$eval('#metrics tbody tr', (rows) => rows.map((r) => [1, 3, 4].map((c) => r.querySelectorAll('td')[c]!.textContent).join('|')));
    expect(keys).toHaveLength(result.runs.length);
    const want = result.runs.map((r) => `${r.objective}|${r.method}|${r.seed}`);
    expect(new Set(keys)).toEqual(new Set(want));
    expect(await page.$$eval('#summary tbody tr', (rows) => rows.length)).toBe(6);
  });

  const column = async (header: string) => {
    const index = await page.$$eval('#metrics thead th', (ths, h) => ths.findIndex((t) => t.textContent!.replace(/[▲▼]/g, '').trim() === h), header);
    expect(index, header).toBeGreaterThanOrEqual(0);
    return index;
  };
  const values = (index: number) => page.$$eval('#metrics tbody tr', (rows, c) => rows.map((r) => r.querySelectorAll('td')[c]!.getAttribute('data-v')!), index);

  it('sorts by a numeric column on click, and reverses on a second click', async () => {
    const c = await column('spectrum slope');
    const before = (await values(c)).map(Number);
    const header = page.locator('#metrics thead th').nth(c);
    await header.click();
    const asc = (await values(c)).map(Number);
    expect(asc).toEqual([...before].sort((a, b) => a - b));
    expect(asc).not.toEqual(before);
    expect(await header.getAttribute('aria-sort')).toBe('ascending');
    await header.click();
    const desc = (await values(c)).map(Number);
    expect(desc).toEqual([...before].sort((a, b) => b - a));
    expect(await header.getAttribute('aria-sort')).toBe('descending');
    // The rest of each row moved with it: the run folder still matches the value it had.
    const runCol = await column('run folder');
    const pairs = async () => {
      const runs = await values(runCol);
      const v = await values(c);
      return new Map(runs.map((r, i) => [r, v[i]]));
    };
    expect(await pairs()).toEqual(new Map(result.metrics.map((m) => [m.run, String(m.spectrumSlope)])));
  });

  it('sorts a text column alphabetically', async () => {
    const c = await column('method');
    await page.locator('#metrics thead th').nth(c).click();
    const methods = await values(c);
    expect(methods).toEqual([...methods].sort());
    expect(methods[0]).toBe('dgn');
    expect(methods.at(-1)).toBe('tv');
  });

  it('shows no console errors; screenshot saved', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(readFileSync(shot).length).toBeGreaterThan(10_000);
    expect(consoleErrors).toEqual([]);
  });
});
