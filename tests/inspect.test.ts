// inspectModel and `fviz inspect`: the report of a PyTorch export, a zoo layout and a model with custom ops.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { formatInspectReport, inspectModel, type InspectReport } from '../src/autodiff/inspect.ts';
import { saveModel } from '../src/onnx/proto.ts';
import { supportedOps } from '../src/autodiff/rules/index.ts';
import { pytorchCnn, singleOpModel, zooCnn } from './helpers/models.ts';

const run = promisify(execFile);

describe('inspectModel', () => {
  it('lists every intermediate of a PyTorch export with its producing op and a concrete shape', () => {
    const r = inspectModel(pytorchCnn(), { batch: 2, coveredOps: ['Relu', 'Conv', 'Reshape'] });
    expect(r.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: [2, 3, 16, 16] }]);
    expect(r.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: [2, 10] }]);
    expect(r.batch).toBe(2);
    expect(r.tensors.map((t) => [t.name, t.op, t.shape])).toEqual([
      ['/features/conv1/Conv', 'Conv', [2, 8, 16, 16]],
      ['/features/bn1/BatchNormalization', 'BatchNormalization', [2, 8, 16, 16]],
      ['/features/relu1/Relu', 'Relu', [2, 8, 16, 16]],
      ['/features/pool1/MaxPool', 'MaxPool', [2, 8, 8, 8]],
      ['/features/conv2/Conv', 'Conv', [2, 16, 4, 4]],
      ['/features/relu2/Relu', 'Relu', [2, 16, 4, 4]],
      ['/Reshape', 'Reshape', [2, 256]],
      ['/fc/Gemm', 'Gemm', [2, 10]],
      ['logits', 'Mul', [2, 10]],
    ]);
    expect(r.fileOps).toMatchObject({ Shape: 1, Gather: 1, Unsqueeze: 1, Concat: 1, Constant: 3 });
    expect(r.ops).toEqual({ BatchNormalization: 1, Conv: 2, Gemm: 1, MaxPool: 1, Mul: 1, Relu: 2, Reshape: 1 });
    expect(r.folded).toBe(7);
    expect(r.gradient).toEqual({ available: true, uncovered: ['BatchNormalization', 'Gemm', 'MaxPool', 'Mul'] });
    expect(r.parameters.elements).toBe(8 * 3 * 9 + 8 + 4 * 8 + 16 * 8 * 9 + 16 + 10 * 256 + 10 + 2 + 1);
    expect(r.customOps).toEqual([]);
  });

  it("defaults to the gradient compiler's own op list, and can report without one", () => {
    const r = inspectModel(zooCnn(9));
    const covered = new Set(supportedOps());
    expect(r.gradient.available).toBe(true);
    expect(r.gradient.uncovered).toEqual(Object.keys(r.ops).filter((op) => !covered.has(op)));
    const none = inspectModel(zooCnn(9), { coveredOps: null });
    expect(none.gradient).toEqual({ available: false, uncovered: [] });
    expect(formatInspectReport(none)).toContain('gradient coverage: (compiler not available)');
  });

  it('reports a zoo layout at its file opset and as it runs', () => {
    const r = inspectModel(zooCnn(7), { source: 'zoo7.onnx' });
    expect(r.opsets).toEqual([{ domain: '', version: 7 }]);
    expect(r.canonicalOpset).toBe(17);
    expect(r.fileOps).toMatchObject({ Dropout: 1, Upsample: 1, LRN: 1 });
    expect(r.ops['Dropout']).toBeUndefined();
    expect(r.ops['Resize']).toBe(1);
    expect(r.tensors.find((t) => t.name === 'pool5/drop_7x7_s1_1')).toMatchObject({ op: 'Identity', shape: [1, 6, 8, 8] });
    expect(r.tensors.every((t) => t.shape !== null && t.shape.every((d) => typeof d === 'number'))).toBe(true);
  });

  it('flags ops outside ai.onnx and keeps going past them', () => {
    const { model } = singleOpModel(13, 'FusedConv', [{ shape: [1, 2, 3, 3] }, { shape: [2, 2, 1, 1] }], {}, 1, { domain: 'com.microsoft' });
    model.opsets.push({ domain: 'com.microsoft', version: 1 });
    model.graph.nodes.push({ name: 'after', opType: 'Relu', domain: '', inputs: ['out0'], outputs: ['y'], attrs: {} });
    model.graph.outputs = [{ name: 'y', dtype: 'float32', shape: [] }];
    const r = inspectModel(model);
    expect(r.customOps).toEqual(['com.microsoft.FusedConv']);
    expect(r.untypedOps).toEqual(['Relu', 'com.microsoft.FusedConv']);
    expect(r.tensors).toEqual([
      { name: 'out0', op: 'com.microsoft.FusedConv', node: 'FusedConv_node', dtype: 'unknown', shape: null },
      { name: 'y', op: 'Relu', node: 'after', dtype: 'unknown', shape: null },
    ]);
    expect(r.gradient.uncovered).toContain('com.microsoft.FusedConv');
    const text = formatInspectReport(r);
    expect(text).toContain('custom ops  com.microsoft.FusedConv');
  });

  it('formats an aligned table', () => {
    const text = formatInspectReport(inspectModel(pytorchCnn(), { batch: 1, source: 'cnn.onnx' }));
    const lines = text.split('\n');
    const header = lines.findIndex((l) => l.trimStart().startsWith('NAME'));
    expect(header).toBeGreaterThan(0);
    const col = lines[header]!.indexOf('SHAPE');
    const rows = lines.slice(header + 1, header + 10);
    for (const row of rows) expect(row[col - 1]).toBe(' ');
    expect(rows.map((r) => r.slice(col))).toContain('[1, 256]');
    expect(text).toMatch(/^model {4}cnn\.onnx$/m);
  });
});

describe('fviz inspect (CLI)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fviz-inspect-'));
    saveModel(pytorchCnn(), join(dir, 'cnn.onnx'), { externalDataThreshold: 1024 });
    saveModel(zooCnn(9), join(dir, 'zoo9.onnx'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints JSON whose every tensor has a concrete shape, with the batch it is given', async () => {
    const { stdout, stderr } = await run('node', ['bin/fviz.js', 'inspect', join(dir, 'cnn.onnx'), '--json', '--batch', '4']);
    expect(stderr).toBe('');
    const r = JSON.parse(stdout) as InspectReport;
    expect(r.batch).toBe(4);
    expect(r.outputs[0]!.shape).toEqual([4, 10]);
    expect(r.tensors).toHaveLength(9);
    for (const t of r.tensors) expect(t.shape!.every((d) => typeof d === 'number')).toBe(true);
  });

  it('prints the text report of an opset-9 zoo layout with batch 1 by default', async () => {
    const { stdout } = await run('node', ['bin/fviz.js', 'inspect', join(dir, 'zoo9.onnx')]);
    expect(stdout).toMatch(/^opsets {3}ai\.onnx 9; runs as ai\.onnx 17$/m);
    expect(stdout).toMatch(/^ {2}pool1\/norm1_1 +LRN +float32 +\[1, 8, 7, 7\]$/m);
    expect(stdout).toMatch(/^ {2}data_0 +float32 +\[1, 3, 15, 15\]$/m);
    expect(stdout).toMatch(/^gradient coverage: /m);
  });
});
