// `npm run demo` end to end at a small size: with the embedded classifier committed it writes the
// comparison (pixel-space methods while the embedded generator is not committed, DGN-AM too once it is).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_DIR } from '../src/models/registry.ts';

const repo = join(import.meta.dirname, '..');

describe('fviz demo', () => {
  it('renders a comparison with the embedded models', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fviz-demo-')), 'demo');
    const r = spawnSync('node', [join(repo, 'bin/fviz.js'), 'demo', '--out', out, '--steps', '6', '--objectives', 'class:cat,class:ship'], { encoding: 'utf8', cwd: repo });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['sheet.png', 'progression.png', 'metrics.json', 'metrics.csv', 'report.html']) expect(existsSync(join(out, f)), f).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    const methods = new Set((metrics.images as { method: string }[]).map((m) => m.method));
    const withGenerator = existsSync(join(EMBEDDED_DIR, 'generator.onnx'));
    expect(methods.has('dgn')).toBe(withGenerator);
    for (const m of ['naive', 'l2', 'tv', 'blur', 'bilateral', 'robust', 'fourier']) expect(methods.has(m), m).toBe(true);
  });
});
