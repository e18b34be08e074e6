// Input convention without a card: the model's own static input decides the size and layout; a dynamic
// size is specialized to --size; each failure is one line with exit code 2, never onnxruntime's raw text.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveModel } from '../src/onnx/proto.ts';
import { readImage } from '../src/render/image.ts';
import { explainRunError } from '../src/runtime/ort-errors.ts';
import { imageModel } from './helpers/image-models.ts';

const repo = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'fviz-input-size-'));
const fviz = (args: string[]) => spawnSync('node', [join(repo, 'bin/fviz.js'), ...args], { encoding: 'utf8', cwd: repo });

function save(name: string, m: ReturnType<typeof imageModel>): string {
  const p = join(dir, name);
  saveModel(m, p);
  return p;
}

const models = {
  static64: save('static64.onnx', imageModel({ shape: [1, 3, 64, 64] })),
  nhwc: save('nhwc.onnx', imageModel({ shape: [1, 40, 40, 3], layout: 'NHWC' })),
  dynamic: save('dynamic.onnx', imageModel({ shape: ['batch', 3, 'height', 'width'] })),
  unnamed: save('unnamed.onnx', imageModel({ shape: ['', 3, '', ''] })),
};

const base = ['visualize', '--objective', 'logits:3', '--method', 'naive', '--steps', '2'];

function visualizes(args: string[], out: string, size: [number, number]) {
  const r = fviz([...base, ...args, '--out', out]);
  expect(r.stderr).not.toMatch(/fviz: /);
  expect(r.status).toBe(0);
  const run = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
  expect(run.parameters.classifierInput.size).toEqual(size);
  expect(Number.isFinite(run.final[0])).toBe(true);
  return run;
}

function fails(args: string[], pattern: RegExp) {
  const r = fviz([...base, ...args]);
  expect(r.status).toBe(2);
  const lines = r.stderr.trim().split('\n').filter((l) => l.length > 0 && !/^\w+ \d+\/\d+ /.test(l));
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(/^fviz: /);
  expect(lines[0]).toMatch(pattern);
  expect(lines[0]).not.toMatch(/Got invalid dimensions|onnxruntime_src/);
}

describe('visualize without a card', () => {
  it('a static 64x64 model needs no flags: it is fed 64x64 images', async () => {
    const out = join(dir, 'static');
    visualizes(['--model', models.static64], out, [64, 64]);
    const img = await readImage(join(out, 'result.png'));
    expect(img.dims.slice(2)).toEqual([64, 64]);
    // Its file fixes batch 1; --batch 2 rebatches it.
    const run = visualizes(['--model', models.static64, '--batch', '2'], join(dir, 'static-b2'), [64, 64]);
    expect(run.final.length).toBe(2);
  });

  it('an NHWC model takes the same display image, transposed', () => {
    visualizes(['--model', models.nhwc], join(dir, 'nhwc'), [40, 40]);
  });

  it('a dynamic model (named or unnamed dims) is specialized to --size', () => {
    visualizes(['--model', models.dynamic, '--size', '48'], join(dir, 'dyn48'), [48, 48]);
    visualizes(['--model', models.unnamed, '--size', '32,40', '--batch', '2'], join(dir, 'unnamed'), [32, 40]);
  });

  it('a dynamic model without --size is one line naming the axes and the flag', () => {
    fails(['--model', models.dynamic, '--out', join(dir, 'x')], /model .*dynamic\.onnx has a dynamic input size \(height, width\).*: pass --size N/);
    expect(existsSync(join(dir, 'x', 'run.json'))).toBe(false);
    fails(['--model', models.unnamed, '--out', join(dir, 'y')], /model .*unnamed\.onnx has a dynamic input size \(height, width\)/);
  });

  it('a --size or card size that contradicts a static input is one line with both sizes', () => {
    fails(['--model', models.static64, '--size', '32', '--out', join(dir, 'z')], /static64\.onnx takes 64x64 images .*not 32x32: drop --size or pass --size 64,64/);
    const carded = save('carded.onnx', imageModel({ shape: [1, 3, 64, 64] }));
    writeFileSync(carded.replace(/\.onnx$/, '.card.json'), JSON.stringify({ name: 'carded', model: 'carded.onnx', input: { size: [224, 224] } }));
    fails(['--model', carded, '--out', join(dir, 'w')], /carded\.onnx takes 64x64 images .*not 224x224.*correct the size in the model card/);
  });

  it('a card without a size leaves it to the model', () => {
    const sizeless = save('sizeless.onnx', imageModel({ shape: [1, 3, 48, 48] }));
    writeFileSync(sizeless.replace(/\.onnx$/, '.card.json'), JSON.stringify({ name: 'sizeless', model: 'sizeless.onnx', input: { channels: 'BGR' } }));
    visualizes(['--model', sizeless], join(dir, 'sizeless'), [48, 48]);
    const dyn = save('sizeless-dyn.onnx', imageModel({ shape: ['n', 3, 'h', 'w'] }));
    writeFileSync(dyn.replace(/\.onnx$/, '.card.json'), JSON.stringify({ name: 'sizeless-dyn', model: 'sizeless-dyn.onnx' }));
    fails(['--model', dyn, '--out', join(dir, 'v')], /has a dynamic input size \(height, width\) and its card gives no size: pass --size N/);
  });
});

describe('inspect and doctor take --size for a dynamic model', () => {
  it('inspect shows the specialized shapes; doctor without --size or card is the one line', () => {
    const r = fviz(['inspect', models.dynamic, '--size', '20,24', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.inputs[0].shape).toEqual([1, 3, 20, 24]);
    expect(report.tensors.find((t: { name: string }) => t.name === 'tokens_out0').shape).toEqual([1, 8, 480]);
    const d = fviz(['doctor', models.dynamic]);
    expect(d.status).toBe(2);
    expect(d.stderr.trim()).toMatch(/^fviz: model .*dynamic\.onnx has a dynamic input size \(height, width\) and no card: pass --size N/);
  });
});

describe("onnxruntime's messages in fviz's words", () => {
  it('invalid dimensions, rank and type each become one explained line', () => {
    const dims = explainRunError(
      '[ErrorCode:InvalidArgument] Got invalid dimensions for input: image for the following indices index: 2 Got: 224 Expected: 64 Please fix either the inputs/outputs or the model.',
    );
    expect(dims).toBe("input 'image' has size 224 on axis 2 where the model expects 64; the image size does not match the model's input: pass --size 64 (or correct the size in the model card)");
    expect(explainRunError('Got invalid dimensions for input: x for the following indices index: 0 Got: 2 Expected: 1')).toMatch(/pass --batch 1/);
    expect(explainRunError('[ErrorCode:InvalidArgument] Invalid rank for input: x Got: 3 Expected: 4 Please fix either the inputs/outputs or the model.')).toMatch(
      /input 'x' has 3 dims where the model expects 4/,
    );
    expect(explainRunError('Unexpected input data type. Actual: (tensor(double)) , expected: (tensor(float))')).toMatch(/tensor\(double\) where the model expects tensor\(float\)/);
    expect(explainRunError('some other failure')).toBeUndefined();
  });
});
