// The Caffe-converted GoogLeNet as a user sees it: `fviz inspect` lists the paper's layer names, and
// class:bell_pepper resolves to 945 with the ImageNet labels of its card.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convertCaffe } from '../src/caffe/convert.ts';
import { saveModel, readModel } from '../src/onnx/proto.ts';
import { prepareModel } from '../src/onnx/prepare.ts';
import { sharedFile } from '../src/shared-path.ts';
import { resolveTerms } from '../src/optvis/objectives/build.ts';
import { parseObjective } from '../src/optvis/objectives/parse.ts';
import { openClassifier } from '../src/classifier/card.ts';

const repo = join(import.meta.dirname, '..');

describe('converted BVLC GoogLeNet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fviz-gnet-'));
  const path = join(dir, 'googlenet.onnx');
  saveModel(convertCaffe(readFileSync(sharedFile('reference', 'bvlc_googlenet.prototxt'), 'utf8'), undefined, { seed: 1 }), path);

  it('fviz inspect shows the paper layer names with their shapes', () => {
    const r = spawnSync('node', [join(repo, 'bin/fviz.js'), 'inspect', path, '--json'], { encoding: 'utf8', cwd: repo });
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    const tensors = new Map<string, number[]>((rep.tensors as { name: string; shape: number[] }[]).map((t) => [t.name, t.shape]));
    expect(tensors.get('conv2/3x3')).toEqual([1, 192, 56, 56]);
    expect(tensors.get('inception_4c/output')).toEqual([1, 512, 14, 14]);
    expect(tensors.get('loss3/classifier')).toEqual([1, 1000]);
    expect(rep.gradient).toEqual({ available: true, uncovered: [] });
  });

  it('class:bell_pepper resolves to 945 through the card labels', () => {
    writeFileSync(join(dir, 'googlenet.card.json'), JSON.stringify({ name: 'googlenet', model: 'googlenet.onnx', input: { channels: 'BGR', range: [0, 255], mean: [104, 117, 123], std: [1, 1, 1], size: [224, 224] }, labels: sharedFile('reference', 'imagenet-synset-words.txt'), preSoftmax: 'loss3/classifier' }));
    const c = openClassifier(path);
    const terms = resolveTerms(prepareModel(readModel(path), { batch: 1 }), parseObjective('class:bell_pepper'), { labels: c.labels, preSoftmax: c.card.preSoftmax });
    expect(terms[0]!.target).toEqual({ kind: 'class', cls: 945 });
    expect(terms[0]!.label).toBe('class:945 (bell pepper)');
  });
});
