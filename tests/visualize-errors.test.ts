// Bad input to visualize and dream: one clear line each, exit code 2, nothing written.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'fviz-viz-err-'));

function fails(args: string[], pattern: RegExp) {
  const r = spawnSync('node', [join(repo, 'bin/fviz.js'), ...args], { encoding: 'utf8', cwd: repo });
  expect(r.status).toBe(2);
  const lines = r.stderr.trim().split('\n').filter((l) => l.length > 0 && !/^\w+ \d+\/\d+ /.test(l));
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(/^fviz: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('visualize and dream: bad input', () => {
  const base = ['visualize', '--model', 'twin:googlenet', '--method', 'naive', '--steps', '2'];
  it('an unknown tensor lists the nearest names', () => {
    fails([...base, '--objective', 'inception_4c/outptu:3', '--out', join(dir, 'a')], /unknown tensor 'inception_4c\/outptu'; nearest names: inception_4c\/output, /);
    expect(existsSync(join(dir, 'a', 'run.json'))).toBe(false);
  });
  it('a channel out of range gives the range', () => {
    fails([...base, '--objective', 'inception_4c/output:512', '--out', join(dir, 'b')], /channel 512 of 'inception_4c\/output' is out of range: it has channels 0\.\.511/);
  });
  it('a class out of range and an unknown class name', () => {
    fails([...base, '--objective', 'class:1000', '--out', join(dir, 'c')], /class 1000 is out of range: the model has classes 0\.\.999/);
    fails([...base, '--objective', 'class:bell_peper', '--out', join(dir, 'c')], /unknown class 'bell_peper'; nearest labels: bell_pepper/);
  });
  it('a missing image file', () => {
    fails([...base, '--objective', 'class:1', '--init-image', join(dir, 'nope.jpg'), '--out', join(dir, 'd')], /image '.*nope\.jpg' does not exist/);
    fails(['dream', '--model', 'twin:googlenet', '--layer', 'inception_4c/output', '--image', join(dir, 'nope.jpg'), '--out', join(dir, 'e.png')], /image '.*nope\.jpg' does not exist/);
  });
  it('an unreadable image', () => {
    const bad = join(dir, 'bad.jpg');
    writeFileSync(bad, 'this is not a jpeg');
    fails([...base, '--objective', 'class:1', '--init-image', bad, '--out', join(dir, 'f')], /image '.*bad\.jpg' is not a readable image/);
    fails(['dream', '--model', 'twin:googlenet', '--layer', 'inception_4c/output', '--image', bad, '--out', join(dir, 'g.png')], /image '.*bad\.jpg' is not a readable image/);
  });
  it('an unknown model and a bad flag value', () => {
    fails(['visualize', '--model', join(dir, 'missing.onnx'), '--objective', 'class:1', '--out', join(dir, 'h')], /model file '.*missing\.onnx' does not exist/);
    fails([...base, '--objective', 'class:1', '--frames', '0,x', '--out', join(dir, 'i')], /--frames '0,x' must be numbers/);
    fails([...base, '--objective', 'class:1', '--scale', '0.9', '--out', join(dir, 'j')], /--scale '0\.9' needs 2 numbers/);
  });
});
