// Bad input to the atlas is one line naming the thing and the fix, exit code 2: an unknown layer (with the
// nearest names), an unreachable Redis, a worker whose model file differs from the atlas's (sha256), an
// output folder made by another model.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fviz } from './helpers/fviz-process.ts';
import { freePort, startRedis, type TestRedis } from './helpers/redis.ts';

const tmp = mkdtempSync(join(tmpdir(), 'fviz-atlas-errors-'));
const queued = join(tmp, 'queued');
const ATLAS = ['atlas', '--layers', 'inception_3a/output', '--methods', 'fourier', '--units', '0-3', '--batch', '2', '--steps', '4'];
let redis: TestRedis;

beforeAll(async () => {
  redis = await startRedis();
  // An atlas of the embedded classifier, queued (not rendered): its plan is in Redis and in the folder.
  const r = fviz([...ATLAS, '--out', queued, '--queue', redis.url, '--enqueue-only']);
  expect(await r.done, r.err()).toBe(0);
}, 120_000);
afterAll(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('fviz atlas: bad input is one line, exit code 2', () => {
  const oneLine = async (args: string[], re: RegExp) => {
    const r = fviz(args);
    expect(await r.done).toBe(2);
    const err = r.err().trim();
    expect(err.split('\n')).toHaveLength(1);
    expect(err).toMatch(re);
  };

  it('an unknown layer names the nearest ones', async () => {
    await oneLine(['atlas', '--layers', 'inception_3a/outptu', '--out', join(tmp, 'typo')], /^fviz: unknown layer 'inception_3a\/outptu'; nearest names: inception_3a\/output/);
    expect(existsSync(join(tmp, 'typo'))).toBe(false);
  }, 60_000);

  it('an unreachable Redis', async () => {
    const port = await freePort();
    await oneLine([...ATLAS, '--out', join(tmp, 'noredis'), '--queue', `redis://127.0.0.1:${port}`], new RegExp(`^fviz: cannot reach Redis at redis://127.0.0.1:${port}: .*start redis-server`));
    await oneLine(['worker', '--queue', `redis://127.0.0.1:${port}`], /^fviz: cannot reach Redis at /);
  }, 60_000);

  it('a worker whose model file differs from the atlas\'s (sha256)', async () => {
    await oneLine(['worker', '--queue', redis.url, '--model', 'embedded-judge'], /^fviz: model file .*judge\.onnx has sha256 [0-9a-f]{12}, the atlas needs classifier\.onnx with sha256 [0-9a-f]{12}: give --model the same file$/);
  }, 60_000);

  it('an output folder made by another model', async () => {
    await oneLine(['atlas', '--model', 'embedded-judge', '--layers', 'all', '--out', queued], /^fviz: output folder .* holds an atlas of another model \(classifier\.onnx, sha256 [0-9a-f]{12}\); this model has sha256 [0-9a-f]{12}: choose another --out$/);
  }, 60_000);
});
