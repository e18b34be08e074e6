// Bad input to `fviz inspect` and to the library behind it: one line, exit code 2, no stack, no hang.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeModel, encodeModel, saveModel } from '../src/onnx/proto.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { inspectModel } from '../src/onnx/inspect.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { FvizError } from '../src/errors.ts';
import { Rng } from '../src/util/rng.ts';
import { pytorchCnn, singleOpModel, zooCnn } from './helpers/models.ts';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile('node', ['bin/fviz.js', ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? null) : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/** Run at most two CLI processes at a time: the machine has two cores. */
async function cliAll(argLists: string[][]): Promise<CliResult[]> {
  const out: CliResult[] = new Array(argLists.length);
  let next = 0;
  const worker = async () => {
    while (next < argLists.length) {
      const k = next++;
      out[k] = await cli(argLists[k]!);
    }
  };
  await Promise.all([worker(), worker()]);
  return out;
}

function expectOneLineError(r: CliResult, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const text = r.stderr.replace(/\n$/, '');
  expect(text).not.toContain('\n');
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).toMatch(/^fviz: /);
  expect(text).toMatch(pattern);
}

/** Fresh copies of valid models' bytes, mutated by bit flips, byte overwrites or truncation. */
function mutants(count: number, seed: number): Uint8Array[] {
  const bases = [encodeModel(pytorchCnn()), encodeModel(zooCnn(9)), encodeModel(zooCnn(13))];
  const rng = new Rng(seed);
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const base = bases[k % bases.length]!;
    let b = Uint8Array.from(base); // encodeModel may return a Buffer, whose slice() would share memory
    const kind = rng.int(3);
    if (kind === 0) b = b.slice(0, rng.int(b.length));
    else if (kind === 1) for (let i = 1 + rng.int(8); i > 0; i--) b[rng.int(b.length)]! ^= 1 << rng.int(8);
    else for (let i = 1 + rng.int(4); i > 0; i--) b[rng.int(b.length)] = rng.int(256);
    out.push(b);
  }
  return out;
}

describe('fviz inspect on bad input', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fviz-bad-'));
    writeFileSync(join(dir, 'notes.onnx'), 'These are my notes, not a model.\n');
    // A 1x1 PNG.
    writeFileSync(
      join(dir, 'picture.png'),
      Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6300010000050001' + '0d0a2db40000000049454e44ae426082', 'hex'),
    );
    const good = encodeModel(pytorchCnn());
    writeFileSync(join(dir, 'truncated.onnx'), good.slice(0, Math.floor(good.length * 0.6)));
    saveModel(pytorchCnn(), join(dir, 'external.onnx'), { externalDataThreshold: 256 });
    rmSync(join(dir, 'external.onnx.data'));
    saveModel(singleOpModel(99, 'Relu', [{ shape: [2] }]).model, join(dir, 'opset99.onnx'));
    saveModel(singleOpModel(3, 'Relu', [{ shape: [2] }]).model, join(dir, 'opset3.onnx'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers each with exit code 2 and one line naming the file and the cause', async () => {
    const p = (f: string) => join(dir, f);
    const cases: [string, RegExp][] = [
      ['notes.onnx', /notes\.onnx is not a valid ONNX model: protobuf decoding failed/],
      ['picture.png', /picture\.png is not a valid ONNX model/],
      ['truncated.onnx', /truncated\.onnx is not a valid ONNX model/],
      ['external.onnx', /external\.onnx: external data file 'external\.onnx\.data' for tensor '.+' is missing/],
      ['opset99.onnx', /opset99\.onnx uses opset 99 of ai\.onnx; fviz reads opsets 7-26 \(onnxruntime 1\.30 runs up to 26\): re-export with opset_version=17$/],
      ['opset3.onnx', /opset3\.onnx uses opset 3 of ai\.onnx; .*re-export with opset_version=17$/],
      ['missing.onnx', /model file '.*missing\.onnx' does not exist/],
    ];
    const results = await cliAll(cases.map(([f]) => ['inspect', p(f)]));
    results.forEach((r, k) => expectOneLineError(r, cases[k]![1]));
  });

  it('refuses a tensor whose dims are far larger than its data, before allocating', () => {
    const g = emptyGraph();
    g.inputs.push({ name: 'x', dtype: 'float32', shape: [4] });
    g.initializers.set('w', { dtype: 'float32', dims: [1 << 28, 4], data: new Float32Array(4) }); // 4 GiB if allocated
    g.nodes.push({ name: 'add', opType: 'Add', domain: '', inputs: ['x', 'w'], outputs: ['y'], attrs: {} });
    g.outputs.push({ name: 'y', dtype: 'float32', shape: [] });
    const bytes = encodeModel(emptyModel(g));
    const t0 = performance.now();
    expect(() => decodeModel(bytes, { source: 'huge.onnx' })).toThrow(/huge\.onnx: tensor 'w' has 16 bytes of data for shape \[268435456,4\]/);
    expect(performance.now() - t0).toBeLessThan(500);
    g.initializers.set('w', { dtype: 'float32', dims: [1 << 30, 1 << 30], data: new Float32Array(4) });
    expect(() => decodeModel(encodeModel(emptyModel(g)))).toThrow(/is too large/);
  });
});

describe('fuzz: mutated models', () => {
  it('through the library: each mutation loads, or fails with FvizError, in bounded time', () => {
    const outcomes = new Map<string, number>();
    let slowest = 0;
    for (const bytes of mutants(300, 1)) {
      const t0 = performance.now();
      let outcome = 'ok';
      try {
        const m = decodeModel(bytes, { source: 'mutant.onnx' });
        inspectModel(m, { batch: 1 });
        prepareModel(m, { batch: 1 });
      } catch (e) {
        if (!(e instanceof FvizError)) throw new Error(`mutation raised ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        expect(e.message).not.toContain('\n');
        outcome = e.message.split(':')[0]!.slice(0, 40);
      }
      slowest = Math.max(slowest, performance.now() - t0);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    expect(slowest).toBeLessThan(2000);
    // The mutations exercise both paths: some still load, many are refused.
    expect(outcomes.get('ok') ?? 0).toBeGreaterThan(30);
    expect(300 - (outcomes.get('ok') ?? 0)).toBeGreaterThan(30);
  });

  it('through the CLI: exit code 0 or 2, and one stderr line on failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fviz-fuzz-'));
    try {
      const files = mutants(20, 2).map((b, k) => {
        const f = join(dir, `m${k}.onnx`);
        writeFileSync(f, b);
        return f;
      });
      const results = await cliAll(files.map((f) => ['inspect', f, '--json']));
      let failures = 0;
      for (const r of results) {
        expect([0, 2]).toContain(r.code);
        if (r.code === 2) {
          failures++;
          expectOneLineError(r, /mutant|m\d+\.onnx|node|tensor|graph|value|opset|model/);
        } else expect(() => JSON.parse(r.stdout)).not.toThrow();
      }
      expect(failures).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
