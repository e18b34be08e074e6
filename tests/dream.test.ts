// DeepDream on a real photo from the shared ImageNet samples: each octave raises the layer's objective,
// the image measurably changes, and the CLI writes the PNG and its run.json.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveClassifier } from '../src/models/registry.ts';
import { deepDream } from '../src/optvis/render/dream.ts';
import { readImage } from '../src/render/image.ts';
import { sharedDir } from '../src/shared-path.ts';

const repo = join(import.meta.dirname, '..');
const photos = join(sharedDir(), 'datasets', 'imagenet-samples');
const photo = join(photos, readdirSync(photos).sort()[0]!);

describe('DeepDream', () => {
  it('raises the layer objective in every octave and changes the photo', async () => {
    const img = await readImage(photo, { size: [160, 200], fit: 'crop' });
    const res = await deepDream(resolveClassifier('twin:googlenet'), img, { layer: 'inception_4c/output', octaves: 3, octaveScale: 1.4, stepsPerOctave: 4, step: 1.5 / 255, jitter: 16, seed: 0 });
    expect(res.history.map((h) => h.size)).toEqual([[82, 102], [114, 143], [160, 200]]);
    for (const h of res.history) expect(h.end).toBeGreaterThan(h.start);
    let diff = 0;
    for (let i = 0; i < img.data.length; i++) diff += Math.abs(res.image.data[i]! - img.data[i]!);
    expect(diff / img.data.length).toBeGreaterThan(0.005);
  });

  it('the CLI writes the image and a run.json beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fviz-dream-'));
    const out = join(dir, 'dream.png');
    const r = spawnSync('node', [join(repo, 'bin/fviz.js'), 'dream', '--model', 'twin:googlenet', '--layer', 'inception_4c/output', '--image', photo, '--octaves', '2', '--steps-per-octave', '2', '--max-size', '160', '--out', out], { encoding: 'utf8', cwd: repo });
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const run = JSON.parse(readFileSync(join(dir, 'dream.run.json'), 'utf8'));
    expect(run.method).toBe('deepdream');
    expect(run.octaves.length).toBe(2);
    expect(run.models[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
