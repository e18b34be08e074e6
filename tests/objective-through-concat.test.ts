// Channel and neuron terms on an inception block's output read the branch that holds their channel, so the
// other branches drop out of the program. Checked against the same objective on a copy of the model whose
// block output is an Identity of the Concat (nothing to narrow): equal values and gradients, fewer nodes.
import { describe, expect, it } from 'vitest';
import { resolveClassifier } from '../src/models/registry.ts';
import { loadPrepared } from '../src/optvis/render/visualize.ts';
import { ObjectiveGradient } from '../src/optvis/objectives/gradient.ts';
import { channel, neuron, type Objective } from '../src/optvis/objectives/api.ts';
import { cloneModel, type Model } from '../src/onnx/ir.ts';
import { Rng } from '../src/util/rng.ts';
import { randomInput } from './helpers/models.ts';

const cls = resolveClassifier('embedded');
const BLOCK = 'inception_4a/output';

/** The model with the block's Concat writing to another name and an Identity giving the block's name. */
function hiddenConcat(model: Model): Model {
  const m = cloneModel(model);
  const concat = m.graph.nodes.find((n) => n.opType === 'Concat' && n.outputs[0] === BLOCK)!;
  concat.outputs[0] = `${BLOCK}_concat`;
  m.graph.valueTypes.set(`${BLOCK}_concat`, m.graph.valueTypes.get(BLOCK)!);
  m.graph.nodes.splice(m.graph.nodes.indexOf(concat) + 1, 0, { name: 'hide_concat', opType: 'Identity', domain: '', inputs: [`${BLOCK}_concat`], outputs: [BLOCK], attrs: {} });
  return m;
}

async function compare(objective: Objective, batch: number) {
  const model = loadPrepared(cls.modelPath, batch, cls.card.input.size);
  const narrowed = await ObjectiveGradient.create(model, { objective, threads: 1 });
  const reference = await ObjectiveGradient.create(hiddenConcat(model), { objective, threads: 1 });
  try {
    const feeds = { data: randomInput(new Rng(5), [batch, 3, 32, 32]) };
    const a = await narrowed.run(feeds);
    const b = await reference.run(feeds);
    const ga = a.grads.get('data')!.data as Float32Array;
    const gb = b.grads.get('data')!.data as Float32Array;
    let diff = 0;
    let scale = 0;
    for (let k = 0; k < ga.length; k++) {
      diff = Math.max(diff, Math.abs(ga[k]! - gb[k]!));
      scale = Math.max(scale, Math.abs(gb[k]!));
    }
    return { a, b, gradError: diff / scale, scale, nodes: [narrowed.model.graph.nodes.length, reference.model.graph.nodes.length], narrowed: narrowed.model };
  } finally {
    await narrowed.release();
    await reference.release();
  }
}

describe('objective terms through an inception Concat', () => {
  it('reads only the branches of the units: same values and gradients, the other branches pruned', async () => {
    // Channel 5 is in the 1x1 branch (0..31), 40 in the 3x3 branch (32..95).
    const r = await compare(channel(BLOCK, 5).batch(0).plus(channel(BLOCK, 40).batch(1)), 2);
    expect(r.scale).toBeGreaterThan(0);
    expect(r.gradError).toBeLessThan(1e-5);
    r.a.perItem.forEach((v, k) => expect(v).toBeCloseTo(r.b.perItem[k]!, 5));
    expect(r.nodes[0]).toBeLessThan(r.nodes[1] - 10);
    const ops = new Set(r.narrowed.graph.nodes.map((n) => n.name));
    expect([...ops].some((n) => n.startsWith('inception_4a/5x5'))).toBe(false);
    expect(r.narrowed.graph.nodes.some((n) => n.opType === 'Concat' && n.outputs[0] === BLOCK)).toBe(false);
  });

  it('narrows a neuron term to its branch and keeps its position', async () => {
    // Channel 100 is in the 5x5 branch (96..111).
    const r = await compare(neuron(BLOCK, 100, 3, 4).plus(channel(BLOCK, 120)), 1);
    expect(r.gradError).toBeLessThan(1e-5);
    expect(r.a.value).toBeCloseTo(r.b.value, 5);
    expect(r.nodes[0]).toBeLessThan(r.nodes[1] - 10);
    expect(r.narrowed.graph.nodes.some((n) => n.name.startsWith('inception_4a/1x1') || n.name.startsWith('inception_4a/3x3'))).toBe(false);
  });
});
