import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeCaffemodel } from '../src/caffe/caffemodel.ts';
import { readModel } from '../src/onnx/proto.ts';

const dir = mkdtempSync(join(tmpdir(), 'fviz-caffe-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fviz = (...args: string[]) => spawnSync(process.execPath, ['bin/fviz.js', ...args], { encoding: 'utf8', timeout: 60_000 });

const DEPLOY = `name: "tiny"
input: "data"
input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 3 kernel_size: 3 pad: 1 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "fc" type: "InnerProduct" bottom: "conv" top: "fc" inner_product_param { num_output: 5 } }
`;

describe('fviz models convert-caffe', () => {
  it('writes an ONNX model with the weights and aliases of the caffemodel', () => {
    const deploy = join(dir, 'deploy.prototxt');
    const weights = join(dir, 'w.caffemodel');
    const out = join(dir, 'tiny.onnx');
    writeFileSync(deploy, DEPLOY);
    const w = Float32Array.from({ length: 54 }, (_, i) => i / 54);
    writeFileSync(
      weights,
      encodeCaffemodel({
        layers: [
          { name: 'conv', type: 'Convolution', blobs: [{ dtype: 'float32', dims: [3, 2, 3, 3], data: w }, { dtype: 'float32', dims: [3], data: new Float32Array(3) }] },
          { name: 'fc', type: 'InnerProduct', blobs: [{ dtype: 'float32', dims: [5, 48], data: new Float32Array(240) }, { dtype: 'float32', dims: [5], data: new Float32Array(5) }] },
        ],
      }, { format: 'v1' }),
    );
    const r = fviz('models', 'convert-caffe', deploy, weights, out, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.inputs).toEqual([{ name: 'data', shape: [1, 2, 4, 4] }]);
    expect(summary.outputs).toEqual([{ name: 'fc', shape: [1, 5] }]);
    expect(summary.parameters).toBe(54 + 3 + 240 + 5);
    const m = readModel(out);
    expect(Array.from(m.graph.initializers.get('conv/W')!.data as Float32Array)).toEqual(Array.from(w));
    expect(JSON.parse(m.metadata['fviz.aliases']!)).toMatchObject({ conv: 'conv', relu: 'conv', fc: 'fc', data: 'data' });
  });

  it('fails with one line naming the unknown layer type and its line, exit code 2', () => {
    const deploy = join(dir, 'bad.prototxt');
    writeFileSync(deploy, `${DEPLOY}layer { name: "odd" type: "Frobnicate" bottom: "fc" top: "odd" }\n`);
    const r = fviz('models', 'convert-caffe', deploy, 'random', join(dir, 'bad.onnx'));
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^fviz: .*bad\.prototxt:7: layer 'odd' has type 'Frobnicate'/);
  });
});
