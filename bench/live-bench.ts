// The live page's speed: one DGN-AM step on the embedded pair (generator -> crop -> classifier, fused
// program, the same bytes) in Debian's Chromium on onnxruntime-web against Node on onnxruntime-node, with
// 1 and 2 threads each. Rounds interleave the two so load on the machine hits both alike; the line gives
// the medians, the browser's speed as a fraction of Node's (node_ms / browser_ms; target >= 0.3 at 2 threads),
// and the median of the per-round fractions.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serveLive } from '../src/live/server.ts';
import { nodeDgnRun } from '../src/live/reference.ts';
import { defaultSettings, type LiveSettings } from '../src/live/run-options.ts';
import { round, type Bench } from './registry.ts';

const CHROMIUM = '/usr/bin/chromium';
const STEPS = 30;
/** Steps left out at the start of each run (first runs allocate and warm up). */
const WARM = 3;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const liveBench: Bench = {
  key: 'live',
  name: 'live_dgn_step',
  description: 'one DGN-AM step on the embedded pair in Chromium (onnxruntime-web) vs Node (onnxruntime-node), 1 and 2 threads (opt-in: needs /usr/bin/chromium)',
  optIn: true,
  async run(ctx) {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    const server = await serveLive({ port: 0 });
    const root = mkdtempSync(join(tmpdir(), 'fviz-live-bench-'));
    const browser = await chromium.launchPersistentContext(join(root, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const info = server.programs.info();
      const settings: LiveSettings = { ...defaultSettings(info, 'dgn', 'class:cat'), steps: STEPS, seed: 0 };
      const prog = await server.programs.program({ method: 'dgn', objective: settings.objective });
      const page = await browser.newPage();
      const rounds = 4;
      for (const threads of [1, 2]) {
        const node: number[] = [];
        const web: number[] = [];
        await page.goto(`${server.url}?threads=${threads}`);
        for (let r = 0; r < rounds; r++) {
          ctx.log(`live: ${threads} thread(s), round ${r + 1}/${rounds}: node`);
          node.push(median((await nodeDgnRun(prog, info, settings, { threads })).stepMs.slice(WARM)));
          ctx.log(`live: ${threads} thread(s), round ${r + 1}/${rounds}: browser`);
          const run = await page.evaluate(async (s) => {
            const live = await (globalThis as unknown as { fvizLive: Promise<{ set(s: unknown): void; run(): Promise<{ stepMs: number[]; threads: number; error: string | null }> }> }).fvizLive;
            live.set(s);
            return live.run();
          }, settings);
          if (run.error) throw new Error(`the live page failed: ${run.error}`);
          if (run.threads !== threads) throw new Error(`the page ran ${run.threads} thread(s), asked for ${threads} (is it cross-origin isolated?)`);
          web.push(median(run.stepMs.slice(WARM)));
        }
        const nodeMs = median(node);
        const webMs = median(web);
        const paired = node.map((n, r) => n / web[r]!);
        ctx.emit({
          bench: this.name,
          threads,
          node_ms: round(nodeMs, 2),
          browser_ms: round(webMs, 2),
          browser_speed_vs_node: round(nodeMs / webMs, 3),
          // Each round's Node median over the browser's of the same round: load that comes and goes hits a pair alike.
          browser_speed_vs_node_paired_median: round(median(paired), 3),
          paired_range: [round(Math.min(...paired), 3), round(Math.max(...paired), 3)],
          steps: STEPS,
          rounds,
          program_mb: round(prog.bytes / 1e6, 1),
        });
      }
    } finally {
      await browser.close();
      await server.close();
      rmSync(root, { recursive: true, force: true });
    }
  },
};
