// The full-size BVLC GoogLeNet as PyTorch's exporter writes it (twin:googlenet-torch: the exporter's graph with
// PyTorch's LRN pattern and its two `If` nodes, seeded weights): it prepares to a static graph with the Ifs
// inlined, computes what onnxruntime computes on the exporter's own graph, passes fviz doctor, and visualizes
// from the CLI with no flags besides the method. Precision against float64 is held by the width-reduced export in
// the corpus (tests/corpus.test.ts, googlenet-op13/op17).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sizeOf } from '../src/onnx/ir.ts';
import { fullyStatic, prepareModel } from '../src/onnx/prepare.ts';
import { readModel } from '../src/onnx/proto.ts';
import { doctor } from '../src/optvis/objectives/doctor.ts';
import { Session } from '../src/runtime/session.ts';
import { twinPath } from '../src/twins/index.ts';
import { Rng } from '../src/util/rng.ts';

const repo = join(import.meta.dirname, '..');

describe('BVLC GoogLeNet exported by PyTorch (twin:googlenet-torch)', () => {
  const path = twinPath('googlenet-torch');
  const root = mkdtempSync(join(tmpdir(), 'fviz-gnet-torch-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('prepares to a static graph with the LRN pattern inlined, and computes what onnxruntime computes on the export', async () => {
    const raw = readModel(path);
    expect(raw.graph.nodes.filter((n) => n.opType === 'If').length).toBe(2);
    const prepared = prepareModel(raw, { batch: 1 });
    expect(prepared.graph.nodes.filter((n) => n.opType === 'If')).toEqual([]);
    expect(fullyStatic(prepared)).toBe(true);
    const x = new Rng(5).fillNormal(new Float32Array(sizeOf([1, 3, 224, 224])), 30);
    const feeds = { data: { dtype: 'float32' as const, dims: [1, 3, 224, 224], data: x } };
    const run = async (m: typeof raw) => {
      const s = await Session.create(m, { threads: 1 });
      try {
        return (await s.run(feeds, ['logits']))['logits']!.data as Float32Array;
      } finally {
        await s.release();
      }
    };
    const ours = await run(prepared);
    const theirs = await run(raw);
    let scale = 0;
    let err = 0;
    for (let i = 0; i < theirs.length; i++) {
      scale = Math.max(scale, Math.abs(theirs[i]!));
      err = Math.max(err, Math.abs(ours[i]! - theirs[i]!));
    }
    expect(scale).toBeGreaterThan(0);
    expect(err / scale).toBeLessThan(1e-5);
  });

  it('passes fviz doctor on a class logit', async () => {
    const r = await doctor(path, { objective: 'logits:7', directions: 1, threads: 2 });
    expect(r.missing).toEqual([]);
    expect(r.check!.worstRelError).toBeLessThan(1e-3);
  }, 120_000);

  it('visualizes from the CLI by its name', () => {
    const out = join(root, 'vis');
    const r = spawnSync('node', [join(repo, 'bin/fviz.js'), 'visualize', '--model', 'twin:googlenet-torch', '--objective', 'class:1', '--method', 'naive', '--steps', '3', '--out', out], { encoding: 'utf8', cwd: repo });
    expect(r.status, r.stderr).toBe(0);
    const m = /objective (-?[\d.]+) -> (-?[\d.]+)/.exec(r.stdout + r.stderr);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(Number(m![1]));
  }, 120_000);
});
