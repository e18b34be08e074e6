// The live page (fviz serve) in Debian's Chromium through playwright-core: it loads from the server,
// cross-origin isolated, with every request to the server itself; DGN-AM on the embedded pair raises the
// class logit over 20 steps and the image changes; its first frames match the same run in Node; a pixel
// method runs; the sliders change the run; a dropped image starts one; bad input shows one clear line;
// the server refuses a non-loopback bind unless asked.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveLive, type LiveServer } from '../src/live/server.ts';
import { writeLivePage } from '../src/live/write.ts';
import { nodeDgnRun, nodePpgnRun } from '../src/live/reference.ts';
import { defaultSettings, type LiveSettings } from '../src/live/run-options.ts';
import type { LiveInfo } from '../src/live/protocol.ts';
import { FvizError } from '../src/errors.ts';
import { sharedDir } from '../src/shared-path.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, 'artifacts');

/** MaCo's magnitude source for the server: a small image folder (one class folder of 12 shared photos) at a fixed path, so its spectrum is computed once and then read from the cache. */
function spectrumImages(): string {
  const dir = join(ARTIFACTS, 'live-spectrum-images');
  const cls = join(dir, 'photos');
  mkdirSync(cls, { recursive: true });
  const photos = join(sharedDir(), 'datasets', 'imagenet-samples');
  for (const f of readdirSync(photos).sort().slice(0, 12)) if (!existsSync(join(cls, f))) copyFileSync(join(photos, f), join(cls, f));
  return dir;
}

/** What the callbacks run inside the page use of it (the tests compile without the DOM's types). */
interface Live {
  info: LiveInfo;
  crossOriginIsolated: boolean;
  set(s: Partial<LiveSettings>): void;
  run(opts?: { keepFrames?: number }): Promise<PageRun>;
  running(): Promise<PageRun> | undefined;
  keepFrames(n: number): void;
}
interface Browser {
  fvizLive: Promise<Live>;
  document: { getElementById(id: string): { textContent: string | null } | null };
  DataTransfer: new () => { items: { add(f: unknown): void } };
  File: new (parts: unknown[], name: string, opts: { type: string }) => unknown;
  atob(s: string): string;
}

interface PageRun {
  history: number[][];
  frames: number[][];
  error: string | null;
  fromImage: string | null;
  stepSettings: { stepSize: number }[];
  stopped: boolean;
  method: string;
}

describe('the live page in headless Chromium', () => {
  let root: string;
  let server: LiveServer;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const foreign: string[] = [];

  const run = (s: Partial<LiveSettings>, keepFrames = 0): Promise<PageRun> =>
    page.evaluate(
      async ([s, keepFrames]) => {
        const live = await (globalThis as unknown as Browser).fvizLive;
        live.set(s);
        return live.run({ keepFrames });
      },
      [s, keepFrames] as const,
    );

  /** The run a drop started (waits for it to start, then to end). */
  const droppedRun = async (method: string): Promise<PageRun> => {
    const started = () =>
      page.evaluate(async (m) => {
        const running = (await (globalThis as unknown as Browser).fvizLive).running();
        const r = running ? await running : undefined;
        return r !== undefined && r.method === m && r.fromImage !== null;
      }, method);
    await expect.poll(started, { timeout: 60_000 }).toBe(true);
    return page.evaluate(async () => (await (await (globalThis as unknown as Browser).fvizLive).running())!);
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    root = mkdtempSync(join(tmpdir(), 'fviz-live-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await serveLive({ port: 0, dataset: spectrumImages() });
    context = await chromium.launchPersistentContext(join(root, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 720 },
    });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) foreign.push(r.url());
    });
    // One thread: the comparison with Node below runs onnxruntime-node on one thread as well.
    await page.goto(`${server.url}?threads=1`, { waitUntil: 'load' });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('loads from fviz serve, cross-origin isolated, with every asset from the server', async () => {
    const state = await page.evaluate(async () => {
      const live = await (globalThis as unknown as Browser).fvizLive;
      return { coi: live.crossOriginIsolated, methods: live.info.methods, model: (globalThis as unknown as Browser).document.getElementById('model')!.textContent };
    });
    expect(state.coi).toBe(true);
    expect(state.methods).toContain('dgn');
    expect(state.methods).toContain('l2');
    expect(state.methods).toContain('ppgn');
    expect(state.methods).toContain('fourier');
    expect(state.model).toContain('generator.onnx');
    const wasm = await fetch(new URL('ort/ort-wasm-simd-threaded.wasm', server.url));
    expect(wasm.headers.get('content-type')).toBe('application/wasm');
    expect(wasm.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(wasm.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect((await wasm.arrayBuffer()).byteLength).toBeGreaterThan(1e6);
  });

  let dgn: PageRun;
  const dgnSettings: LiveSettings = { method: 'dgn', objective: 'class:cat', seed: 2, steps: 20, stepSize: 0.25, codeL2: 0.99, noise: 0, jitter: 0, l2: 0, tv: 0, eps1: 1, eps2: 2, eps3: 3 };

  it('runs DGN-AM on the embedded pair: the class logit rises over 20 steps (seeds 0-2) and the image changes', async () => {
    const gains: number[] = [];
    for (const seed of [0, 1, 2]) {
      dgn = await run({ ...dgnSettings, seed }, 21);
      expect(dgn.error).toBeNull();
      expect(dgn.history).toHaveLength(21);
      gains.push(dgn.history[20]![0]! - dgn.history[0]![0]!);
    }
    expect(gains.filter((g) => g > 0).length, `gains ${gains}`).toBeGreaterThanOrEqual(2);
    expect(gains.reduce((a, b) => a + b) / gains.length, `gains ${gains}`).toBeGreaterThan(1);
    const a = dgn.frames[0]!;
    const b = dgn.frames[20]!;
    const change = a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length;
    expect(change).toBeGreaterThan(0.05);
    await page.screenshot({ path: join(ARTIFACTS, 'live-page.png') });
    // The downloads: the picture as a PNG, the run as JSON with its settings and history.
    expect(await page.locator('#png').getAttribute('href')).toMatch(/^data:image\/png;base64,/);
    const json = await page.evaluate(async () => {
      const a = (globalThis as unknown as Browser).document.getElementById('json') as unknown as { href: string };
      return (await fetch(a.href)).json() as Promise<{ method: string; settings: { seed: number }; history: number[][]; model: string }>;
    });
    expect(json).toMatchObject({ method: 'dgn', settings: { seed: 2 }, model: 'classifier.onnx' });
    expect(json.history).toEqual(dgn.history);
  }, 120_000);

  it("matches Node's frames with the same seed: steps 0-2 within 1e-4 (the per-step divergence is written to tests/artifacts)", async () => {
    const info = await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).info);
    const id = (await (await fetch(new URL('api/program', server.url), { method: 'POST', body: JSON.stringify({ method: 'dgn', objective: 'class:cat' }) })).json()) as { id: string };
    const node = await nodeDgnRun(server.programs.get(id.id)!, info, dgnSettings, { threads: 1, keepFrames: 21 });
    const perStep = node.frames.map((f, i) => f.reduce((m, v, k) => Math.max(m, Math.abs(v - dgn.frames[i]![k]!)), 0));
    const objective = node.history.map((h, i) => Math.abs(h[0]! - dgn.history[i]![0]!));
    writeFileSync(join(ARTIFACTS, 'live-divergence.json'), JSON.stringify({ maxAbsImageDiffPerStep: perStep, absObjectiveDiffPerStep: objective }, null, 1));
    expect(perStep[0]).toBeLessThan(1e-4);
    expect(perStep[1]).toBeLessThan(1e-4);
    expect(perStep[2]).toBeLessThan(1e-4);
    expect(objective[0]).toBeLessThan(1e-4);
  }, 120_000);

  it("runs PPGN-h with the card's settings: log p(cat) rises over 20 steps (seeds 0-2), the image changes, the first frames match Node's", async () => {
    const info = await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).info);
    const s = { ...defaultSettings(info, 'ppgn', 'class:cat'), steps: 20 };
    // The page starts PPGN from the generator card's settings.
    expect(s).toMatchObject({ eps1: info.ppgn!.eps1, eps2: info.ppgn!.eps2, eps3: info.ppgn!.eps3, stepSize: info.ppgn!.lr });
    const gains: number[] = [];
    let ppgn: PageRun | undefined;
    for (const seed of [0, 1, 2]) {
      ppgn = await run({ ...s, seed }, 21);
      expect(ppgn.error).toBeNull();
      expect(ppgn.method).toBe('ppgn');
      expect(ppgn.history).toHaveLength(21);
      // log p(cat | image): negative, and higher after 20 steps.
      expect(ppgn.history[0]![0]!).toBeLessThan(0);
      gains.push(ppgn.history[20]![0]! - ppgn.history[0]![0]!);
    }
    expect(gains.every((g) => g > 0.3), `gains ${gains}`).toBe(true);
    const a = ppgn!.frames[0]!;
    const b = ppgn!.frames[20]!;
    expect(a.reduce((m, v, i) => m + Math.abs(v - b[i]!), 0) / a.length).toBeGreaterThan(0.05);
    // The same served bytes through the same loop in Node, same seed: the first frames agree.
    const id = (await (await fetch(new URL('api/program', server.url), { method: 'POST', body: JSON.stringify({ method: 'ppgn', objective: 'class:cat' }) })).json()) as { id: string };
    const node = await nodePpgnRun(server.programs.get(id.id)!, info, { ...s, seed: 2 }, { threads: 1, keepFrames: 3 });
    const perStep = node.frames.map((f, i) => f.reduce((m, v, k) => Math.max(m, Math.abs(v - ppgn!.frames[i]![k]!)), 0));
    writeFileSync(join(ARTIFACTS, 'live-ppgn.json'), JSON.stringify({ logpGains: gains, seed2: ppgn!.history.map((h) => h[0]), maxAbsImageDiffPerStepVsNode: perStep }, null, 1));
    for (let i = 0; i < 3; i++) expect(perStep[i], `frame ${i}`).toBeLessThan(1e-4);
    expect(Math.abs(node.history[0]![0]! - ppgn!.history[0]![0]!)).toBeLessThan(1e-4);
  }, 120_000);

  it('the PPGN sliders change the run: eps2 = 0 (the condition term off) no longer raises log p like eps2 = 2', async () => {
    const base = { method: 'ppgn', objective: 'class:cat', seed: 0, steps: 10, stepSize: 0.05, eps1: 1, eps3: 0 };
    const pulled = await run({ ...base, eps2: 2 });
    await page.locator('#eps2').fill('0');
    expect(await page.locator('output[for=eps2]').textContent()).toBe('0');
    const free = await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).run());
    expect(free.error).toBeNull();
    expect(free.history[0]![0]).toBeCloseTo(pulled.history[0]![0]!, 5);
    const gain = (r: PageRun) => r.history.at(-1)![0]! - r.history[0]![0]!;
    expect(gain(pulled), `gains ${gain(pulled)} vs ${gain(free)}`).toBeGreaterThan(gain(free) + 0.3);
  }, 120_000);

  it("runs the Fourier method (Lucid's decorrelated spectrum, in the page in float64): the objective rises", async () => {
    const info = await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).info);
    const r = await run({ ...defaultSettings(info, 'fourier', 'class:cat'), steps: 30 }, 31);
    expect(r.error).toBeNull();
    expect(r.method).toBe('fourier');
    writeFileSync(join(ARTIFACTS, 'live-fourier.json'), JSON.stringify({ objective: r.history.map((h) => h[0]) }, null, 1));
    expect(r.history.at(-1)![0]!).toBeGreaterThan(r.history[0]![0]! + 1);
    const a = r.frames[0]!;
    const b = r.frames.at(-1)!;
    expect(a.reduce((m, v, i) => m + Math.abs(v - b[i]!), 0) / a.length).toBeGreaterThan(0.02);
  }, 120_000);

  it("runs MaCo with the server's dataset spectrum (fviz serve --dataset DIR): the objective rises, the magnitude is the served one", async () => {
    const info = await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).info);
    expect(info.methods).toContain('maco');
    expect(info.spectrum).toBe(join(ARTIFACTS, 'live-spectrum-images'));
    const r = await run({ ...defaultSettings(info, 'maco', 'class:cat'), steps: 30 });
    expect(r.error).toBeNull();
    expect(r.method).toBe('maco');
    writeFileSync(join(ARTIFACTS, 'live-maco.json'), JSON.stringify({ objective: r.history.map((h) => h[0]) }, null, 1));
    expect(r.history.at(-1)![0]!).toBeGreaterThan(r.history[0]![0]! + 1);
    const served = (await (await fetch(new URL('api/spectrum', server.url))).json()) as { magnitude: number[] };
    expect(served.magnitude).toHaveLength(3 * info.size[0] * info.size[1]);
    expect(served.magnitude[0]!).toBeGreaterThan(served.magnitude[5]!); // the DC term dominates a natural image's spectrum
  }, 120_000);

  it('runs a pixel method (l2): the objective rises', async () => {
    const r = await run({ method: 'l2', objective: 'class:cat', seed: 0, steps: 30, stepSize: 0.05, l2: 0.5, tv: 0, jitter: 0 });
    expect(r.error).toBeNull();
    expect(r.method).toBe('l2');
    expect(r.history.at(-1)![0]!).toBeGreaterThan(r.history[0]![0]! + 1);
  }, 120_000);

  it('the sliders change the run: a larger step size (moved on the slider) moves the objective differently from step 1 on', async () => {
    await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).set({ method: 'dgn', objective: 'class:cat', seed: 3, steps: 4 }));
    await page.locator('#stepSize').fill('0.25');
    const a = await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).run());
    await page.locator('#stepSize').fill('1');
    expect(await page.locator('output[for=stepSize]').textContent()).toBe('1');
    const b = await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).run());
    expect(b.stepSettings[0]!.stepSize).toBe(1);
    expect(a.history[0]![0]).toBeCloseTo(b.history[0]![0]!, 5);
    expect(Math.abs(a.history[1]![0]! - b.history[1]![0]!)).toBeGreaterThan(1e-3);
  }, 120_000);

  it('a slider moved during a run changes the steps after it (step size, DGN-AM)', async () => {
    await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).set({ method: 'dgn', objective: 'class:cat', seed: 0, steps: 2000, stepSize: 0.25 }));
    const stepShown = async () => Number(/^step (\d+) \//.exec((await page.locator('#status').textContent()) ?? '')?.[1] ?? 0);
    await page.locator('#run').click();
    // (Alone, this test waits for the program to compile first: the server shares the test's process.)
    await expect.poll(stepShown, { timeout: 120_000 }).toBeGreaterThan(3);
    await page.locator('#stepSize').fill('1.5');
    const moved = await stepShown();
    await expect.poll(stepShown, { timeout: 60_000 }).toBeGreaterThan(moved + 3);
    await page.locator('#stop').click();
    const r = await page.evaluate(async () => (await (await (globalThis as unknown as Browser).fvizLive).running())!);
    const sizes = r.stepSettings.map((x) => x.stepSize);
    const first = sizes.indexOf(1.5);
    expect(r.error).toBeNull();
    expect(r.stopped).toBe(true);
    expect(first, `step sizes ${sizes}`).toBeGreaterThan(3);
    expect(first).toBeLessThan(sizes.length - 3);
    expect(sizes.slice(0, first).every((v) => v === 0.25)).toBe(true);
    expect(sizes.slice(first).every((v) => v === 1.5)).toBe(true);
  }, 240_000);

  it('a dropped image starts a run from it', async () => {
    const red = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    await page.evaluate(async () => (await (globalThis as unknown as Browser).fvizLive).set({ method: 'naive', objective: 'class:cat', steps: 10, stepSize: 0.05 }));
    const dt = await page.evaluateHandle((b64) => {
      const bytes = Uint8Array.from((globalThis as unknown as Browser).atob(b64), (c) => c.charCodeAt(0));
      const dt = new (globalThis as unknown as Browser).DataTransfer();
      dt.items.add(new (globalThis as unknown as Browser).File([bytes], 'red.png', { type: 'image/png' }));
      return dt;
    }, red.toString('base64'));
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    const got = await droppedRun('naive');
    expect(got.error).toBeNull();
    expect(got.fromImage).toBe('red.png');
    expect(got.history.length).toBe(11);
    expect(got.history.at(-1)![0]!).toBeGreaterThan(got.history[0]![0]!);
    expect(await page.locator('#message').textContent()).toBe('');

    // With DGN-AM chosen, the drop starts from the image's code (the card's encoder, fc6): the first
    // generated image is the red square's reconstruction, red above green and blue.
    await page.evaluate(async () => {
      const live = await (globalThis as unknown as Browser).fvizLive;
      live.set({ method: 'dgn', objective: 'class:cat', steps: 5, seed: 0 });
      live.keepFrames(1);
    });
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    const fromCode = await droppedRun('dgn');
    expect(fromCode.error).toBeNull();
    expect(fromCode.history).toHaveLength(6);
    const f0 = fromCode.frames[0]!;
    const hw = f0.length / 3;
    const mean = (c: number) => f0.slice(c * hw, (c + 1) * hw).reduce((a, v) => a + v, 0) / hw;
    expect(mean(0), `channel means ${mean(0)}, ${mean(1)}, ${mean(2)}`).toBeGreaterThan(mean(1) + 0.1);
    expect(mean(0)).toBeGreaterThan(mean(2) + 0.1);

    // PPGN-h starts from the same code.
    await page.evaluate(async () => {
      const live = await (globalThis as unknown as Browser).fvizLive;
      live.set({ method: 'ppgn', objective: 'class:cat', steps: 3, seed: 0, stepSize: 0.05, eps1: 1, eps2: 2, eps3: 3 });
      live.keepFrames(1);
    });
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    const ppgnFromCode = await droppedRun('ppgn');
    expect(ppgnFromCode.error).toBeNull();
    expect(ppgnFromCode.frames[0]).toEqual(f0);
  }, 120_000);

  it('bad input shows one clear message: a file that is not an image, an objective naming no unit', async () => {
    const dt = await page.evaluateHandle(() => {
      const dt = new (globalThis as unknown as Browser).DataTransfer();
      dt.items.add(new (globalThis as unknown as Browser).File(['hello'], 'notes.txt', { type: 'text/plain' }));
      return dt;
    });
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    await expect.poll(() => page.locator('#message').textContent()).toBe('notes.txt is not an image the browser can decode: drop a PNG, JPEG, GIF or WebP file');
    const bad = await run({ method: 'dgn', objective: 'nosuchlayer:3', steps: 2 });
    const msg = (await page.locator('#message').textContent())!;
    expect(bad.error).toBe(msg);
    expect(msg).toContain('nosuchlayer');
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg.length).toBeLessThan(300);
    expect(pageErrors).toEqual([]);
    expect(foreign).toEqual([]);
  }, 60_000);

  it('a static build written into an atlas folder runs the programs written with it (fviz serve --write-to, --atlas)', async () => {
    const atlas = join(root, 'atlas');
    const w = await writeLivePage(join(atlas, 'live'), { objectives: ['class:cat'], programs: server.programs });
    expect(w.programs).toBe(3);
    const other = await serveLive({ port: 0, atlas });
    try {
      const p = await context.newPage();
      await p.goto(`${other.url}atlas/live/index.html?threads=1`, { waitUntil: 'load' });
      const r = await p.evaluate(async () => {
        const live = await (globalThis as unknown as Browser).fvizLive;
        live.set({ method: 'dgn', steps: 3 });
        const ok = await live.run();
        live.set({ objective: 'class:dog' });
        const missing = await live.run();
        return { static: live.info.static, ok, missing };
      });
      await p.close();
      expect(r.static).toBe(true);
      expect(r.ok.error).toBeNull();
      expect(r.ok.history).toHaveLength(4);
      expect(r.missing.error).toMatch(/^this static page has programs for class:cat only: run fviz serve for 'class:dog'$/);
    } finally {
      await other.close();
    }
  }, 120_000);

  it('refuses a non-loopback bind unless asked with --host', async () => {
    await expect(serveLive({ host: '0.0.0.0', port: 0 })).rejects.toThrow(FvizError);
    await expect(serveLive({ host: '0.0.0.0', port: 0 })).rejects.toThrow(/refusing to serve on 0\.0\.0\.0.*--host 0\.0\.0\.0/);
  });
});
