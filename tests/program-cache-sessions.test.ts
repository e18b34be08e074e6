// The program cache beside the session abstraction: a program for another runtime (SessionOptions.createSession,
// the live page's onnxruntime-web) compiles without the cache, which holds onnxruntime-node's optimized graph; the
// compiled bytes (compiledEntry) are there whenever this process compiled the program, and run the same through
// ProgramRunner on any session factory.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listPrograms, programKey, resetProgramCacheWarnings } from '../src/runtime/program-cache.ts';
import { Session, type SessionFactory } from '../src/runtime/session.ts';
import { pixelNetwork } from '../src/optvis/render/pixel.ts';
import { loadPrepared } from '../src/optvis/render/visualize.ts';
import { ProgramRunner, type ProgramMeta } from '../src/optvis/objectives/program-run.ts';
import { resolveClassifier } from '../src/models/registry.ts';
import { DISPLAY_INPUT } from '../src/classifier/card.ts';
import { Rng } from '../src/util/rng.ts';

const saved = process.env['FVIZ_CACHE'];
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fviz-cache-sessions-'));
  process.env['FVIZ_CACHE'] = dir;
  resetProgramCacheWarnings();
});
afterEach(() => {
  if (saved === undefined) delete process.env['FVIZ_CACHE'];
  else process.env['FVIZ_CACHE'] = saved;
});

const cls = resolveClassifier(undefined);
const base = () => ({ classifier: () => loadPrepared(cls.modelPath, 1, cls.card.input.size), card: cls.card, objective: 'class:cat', names: { labels: cls.labels }, threads: 1 });

function image() {
  const x = { dtype: 'float32' as const, dims: [1, 3, ...cls.card.input.size], data: new Float32Array(3 * cls.card.input.size[0] * cls.card.input.size[1]) };
  new Rng(5).fillUniform(x.data, 0, 1);
  return x;
}

/** onnxruntime-node behind the factory type, counting the programs it loaded. */
function countingFactory(): { factory: SessionFactory; loaded: Uint8Array[] } {
  const loaded: Uint8Array[] = [];
  const factory: SessionFactory = async (bytes, opts) => {
    loaded.push(bytes);
    return Session.create(bytes, { threads: opts.threads, source: opts.source });
  };
  return { factory, loaded };
}

describe('program cache and session factories', () => {
  it('a program for a session factory compiles without the cache, even with a key, and keeps its bytes', async () => {
    const { factory, loaded } = countingFactory();
    const net = await pixelNetwork({ ...base(), cacheKey: programKey({ test: 'factory' }), createSession: factory });
    const x = image();
    const r = await net.run({ [DISPLAY_INPUT]: x });
    await net.release();
    expect(net.via).toBe('uncached');
    expect(listPrograms(dir), 'nothing stored for another runtime').toEqual([]);
    expect(loaded.length, 'the factory loaded the program').toBe(1);
    const entry = net.compiledEntry();
    expect(entry).toBeDefined();
    expect(Buffer.from(entry!.bytes).equals(Buffer.from(loaded[0]!)), 'the entry holds the bytes the factory loaded').toBe(true);
    const runner = await ProgramRunner.open(entry!.bytes, entry!.meta as unknown as ProgramMeta, factory, { threads: 1 });
    const again = await runner.run({ [DISPLAY_INPUT]: x });
    await runner.release();
    expect(again.value).toBe(r.value);
    expect(runner.terms.map((t) => t.label)).toEqual(net.terms.map((t) => t.label));
  });

  it('a stored program keeps the bytes it compiled; a hit has none, and runs as those bytes do', async () => {
    const opts = { ...base(), cacheKey: programKey({ test: 'entry' }) };
    const x = image();
    const first = await pixelNetwork(opts);
    await first.release();
    const second = await pixelNetwork(opts);
    const hit = await second.run({ [DISPLAY_INPUT]: x });
    await second.release();
    expect([first.via, second.via]).toEqual(['stored', 'hit']);
    expect(listPrograms(dir)).toHaveLength(1);
    expect(second.compiledEntry(), 'a hit holds only the optimized graph').toBeUndefined();
    const entry = first.compiledEntry();
    expect(entry).toBeDefined();
    const runner = await ProgramRunner.open(entry!.bytes, entry!.meta as unknown as ProgramMeta, countingFactory().factory, { threads: 1 });
    const fromBytes = await runner.run({ [DISPLAY_INPUT]: x });
    await runner.release();
    expect(fromBytes.value).toBeCloseTo(hit.value, 4);
    expect(fromBytes.perItem.length).toBe(hit.perItem.length);
  });
});
