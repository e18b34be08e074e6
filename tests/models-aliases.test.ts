// The paper's GoogLeNet layer names on a Caffe2-exported graph: the real bvlc_googlenet.prototxt converted
// with random weights, its tensors renamed the way Caffe2's ONNX exporter versions blobs (<blob>_0 for inputs,
// <blob>_1, _2, ... for each write), then the aliases derived from the prototxt alone.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertCaffe, ALIASES_KEY } from '../src/caffe/convert.ts';
import { versionName } from '../src/caffe/context.ts';
import { parseNet } from '../src/caffe/net.ts';
import { deriveCaffe2Aliases } from '../src/models/caffe-aliases.ts';
import { findPreSoftmax } from '../src/optvis/objectives/build.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { sharedFile } from '../src/shared-path.ts';

describe('Caffe names of BVLC GoogLeNet on Caffe2-versioned tensors', () => {
  it('aliases every blob and layer of the deploy prototxt to the tensor Caffe would hold after a forward pass', () => {
    const prototxt = readFileSync(sharedFile('reference', 'bvlc_googlenet.prototxt'), 'utf8');
    const model = convertCaffe(prototxt, undefined, { seed: 1 });
    delete model.metadata[ALIASES_KEY];
    const net = parseNet(prototxt);
    const writes = new Map<string, number>();
    const inputs = new Set(net.inputs.map((i) => i.name));
    for (const l of net.layers) for (const t of l.top) writes.set(t, (writes.get(t) ?? 0) + 1);
    const rename = new Map<string, string>();
    for (const b of inputs) rename.set(b, `${b}_0`);
    for (const [b, n] of writes) for (let k = 0; k < n; k++) rename.set(versionName(b, k, n), `${b}_${k + 1}`);
    const g = model.graph;
    const r = (t: string) => rename.get(t) ?? t;
    for (const n of g.nodes) {
      n.inputs = n.inputs.map(r);
      n.outputs = n.outputs.map(r);
    }
    for (const v of [...g.inputs, ...g.outputs]) v.name = r(v.name);
    g.valueTypes = new Map([...g.valueTypes].map(([k, v]) => [r(k), v]));
    const prepared = prepareModel(model, { batch: 2 });

    const { aliases, missing } = deriveCaffe2Aliases(prototxt, prepared.graph);
    expect(missing).toEqual([]);
    expect(aliases).toMatchObject({
      data: 'data_0',
      'conv1/7x7_s2': 'conv1/7x7_s2_2',
      'conv1/relu_7x7': 'conv1/7x7_s2_2',
      'conv2/3x3': 'conv2/3x3_2',
      'inception_3a/output': 'inception_3a/output_1',
      'inception_4c/output': 'inception_4c/output_1',
      'inception_4c/relu_5x5': 'inception_4c/5x5_2',
      'pool5/7x7_s1': 'pool5/7x7_s1_2',
      'pool5/drop_7x7_s1': 'pool5/7x7_s1_2',
      'loss3/classifier': 'loss3/classifier_1',
      prob: 'prob_1',
    });
    // Every Caffe layer and blob name has an alias.
    const names = new Set([...inputs, ...writes.keys(), ...net.layers.map((l) => l.name)]);
    expect(Object.keys(aliases).sort()).toEqual([...names].sort());
    expect(findPreSoftmax(prepared.graph)).toBe('loss3/classifier_1');
  });
});
