// Prepared models are remembered within a process: the second load of the same file at the same batch and size
// is a clone of the first (same graph, shared weights, its own structure), a changed file or other options
// prepare anew, and $FVIZ_PREPARE_MEMO_MB bounds what is held (0: nothing).
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAtBatch } from '../src/onnx/prepare.ts';
import { clearPreparedMemo, preparedMemoSize } from '../src/onnx/prepare-memo.ts';
import { encodeModel, saveModel } from '../src/onnx/proto.ts';
import { pytorchCnn } from './helpers/models.ts';

const saved = process.env['FVIZ_PREPARE_MEMO_MB'];
afterEach(() => {
  clearPreparedMemo();
  if (saved === undefined) delete process.env['FVIZ_PREPARE_MEMO_MB'];
  else process.env['FVIZ_PREPARE_MEMO_MB'] = saved;
});

describe('prepare memo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fviz-prepare-memo-'));
  const path = join(dir, 'net.onnx');
  saveModel(pytorchCnn({ size: 32, seed: 4 }), path);

  it('gives the same prepared model again as a clone, and prepares anew for other options or a changed file', () => {
    clearPreparedMemo();
    const a = loadAtBatch(path, 2);
    const b = loadAtBatch(path, 2);
    expect(preparedMemoSize()).toBe(1);
    expect(Buffer.from(encodeModel(b)).equals(Buffer.from(encodeModel(a))), 'the same graph').toBe(true);
    expect(b.graph).not.toBe(a.graph);
    b.graph.nodes.pop();
    expect(loadAtBatch(path, 2).graph.nodes.length, "a caller's edit does not reach the memo").toBe(a.graph.nodes.length);
    loadAtBatch(path, 1);
    expect(preparedMemoSize()).toBe(2);
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    loadAtBatch(path, 1);
    expect(preparedMemoSize(), 'a touched file is another entry').toBe(3);
  });

  it('holds nothing with FVIZ_PREPARE_MEMO_MB=0', () => {
    clearPreparedMemo();
    process.env['FVIZ_PREPARE_MEMO_MB'] = '0';
    loadAtBatch(path, 2);
    loadAtBatch(path, 2);
    expect(preparedMemoSize()).toBe(0);
  });
});
