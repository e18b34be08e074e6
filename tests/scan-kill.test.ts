// A real kill: `fviz examples` is SIGKILLed right after its first checkpoint lands, started again with the
// same arguments, and must end with the same index.json as a run that was never interrupted.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/analysis/scan-checkpoint.ts';
import { addBrokenFiles, writeScanTestModel, writeTestFolder } from './helpers/scan-fixtures.ts';

let tmp: string;
let modelPath: string;
let data: string;
const COUNT = 240;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'fviz-kill-'));
  modelPath = writeScanTestModel(join(tmp, 'model'));
  data = join(tmp, 'data');
  await writeTestFolder(data, COUNT);
  await addBrokenFiles(data);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const args = (out: string) => ['bin/fviz.js', 'examples', '--model', modelPath, '--layer', 'feat', '--dataset', data, '--out', out, '--batch', '2', '--sheets', '0', '--checkpoint-every', '1', '--threads', '1'];

function channels(out: string): unknown {
  return (JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { channels: unknown }).channels;
}

describe('fviz examples killed mid-scan', () => {
  it('restarted with the same arguments ends with the same index as an uninterrupted run', async () => {
    const whole = join(tmp, 'whole');
    const r1 = spawnSync(process.execPath, args(whole), { encoding: 'utf8', timeout: 60_000 });
    expect(r1.status, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(/warning: 3 unreadable file\(s\) skipped/);

    const cut = join(tmp, 'cut');
    const ckpt = join(cut, 'scan.ckpt');
    const child = spawn(process.execPath, args(cut), { stdio: 'ignore' });
    const exited = new Promise<void>((res) => child.on('exit', () => res()));
    await new Promise<void>((res) => {
      const poll = setInterval(() => {
        if (existsSync(ckpt) || child.exitCode !== null) {
          clearInterval(poll);
          child.kill('SIGKILL');
          res();
        }
      }, 2);
    });
    await exited;
    expect(existsSync(join(cut, 'index.json'))).toBe(false);
    const saved = readCheckpoint(ckpt)!;
    expect(saved.header.done).toBe(false);
    expect(saved.header.n).toBeLessThan(COUNT);

    const r2 = spawnSync(process.execPath, args(cut), { encoding: 'utf8', timeout: 60_000 });
    expect(r2.status, r2.stderr).toBe(0);
    const run = JSON.parse(readFileSync(join(cut, 'run.json'), 'utf8')) as { resumed: { images: number } | null };
    expect(run.resumed?.images).toBeGreaterThan(0);
    expect(channels(cut)).toEqual(channels(whole));
    expect(existsSync(ckpt)).toBe(false);
  }, 60_000);
});
