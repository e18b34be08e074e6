// The compiled training step: the faster conv weight gradient against the general rule, the loss against
// a reference computed in TypeScript, and the exported inference model (batch norm folded) against the
// training graph when the running statistics equal the batch statistics.
import { describe, expect, it } from 'vitest';
import { compileFused } from '../src/autodiff/compile.ts';
import { Session } from '../src/runtime/session.ts';
import { buildClassifier, CLASSIFIER_INPUT, CLASSIFIER_PRESETS, LOGITS, type ClassifierConfig } from '../src/train/classifier/net.ts';
import { withTrainingRules } from '../src/train/conv-weight-grad.ts';
import { inferenceModel } from '../src/train/classifier/export.ts';
import { LOSS, targetRows, TARGET_INPUT, withCrossEntropy } from '../src/train/classifier/loss.ts';
import { initParams, type RunningStats } from '../src/train/net.ts';
import { TrainStep } from '../src/train/classifier/step.ts';
import { Rng } from '../src/util/rng.ts';
import type { TensorData } from '../src/onnx/ir.ts';

const cfg: ClassifierConfig = {
  ...CLASSIFIER_PRESETS['tiny']!,
  size: [12, 12],
  poolBranch: 'pool-proj',
};
const B = 4;

function batch(seed: number) {
  const rng = new Rng(seed);
  const x = rng.fillNormal(new Float32Array(B * 3 * 12 * 12));
  const labels = Array.from({ length: B }, (_, i) => (i * 3) % 10);
  return { x, labels };
}

async function gradients(useTrainingRules: boolean) {
  const { model, net } = buildClassifier(cfg, { kind: 'train' }, B);
  const withLoss = withCrossEntropy(model, LOGITS, B, 10);
  const spec = { outputs: [LOSS], wrt: net.params.map((p) => p.name), seedOnes: true, extraOutputs: [LOGITS] };
  const prog = useTrainingRules ? withTrainingRules(() => compileFused(withLoss, spec)) : compileFused(withLoss, spec);
  const s = await Session.create(prog.model, { threads: 1 });
  const w = initParams(net.params, 3, 'logits/W');
  const { x, labels } = batch(5);
  const feeds: Record<string, TensorData> = {
    [CLASSIFIER_INPUT]: { dtype: 'float32', dims: [B, 3, 12, 12], data: x },
    [TARGET_INPUT]: { dtype: 'float32', dims: [B, 10], data: targetRows(labels, 10) },
  };
  for (const p of net.params) feeds[p.name] = { dtype: 'float32', dims: p.dims, data: w.get(p.name)! };
  const out = await s.run(feeds);
  await s.release();
  const grads = new Map<string, Float32Array>();
  for (const [k, v] of prog.gradNames) grads.set(k, out[v]!.data as Float32Array);
  return { grads, loss: (out[LOSS]!.data as Float32Array)[0]!, logits: out[LOGITS]!.data as Float32Array, labels, nodes: prog.model.graph.nodes };
}

describe('training step', () => {
  it('the unfolded conv weight gradient equals the general rule on every parameter', async () => {
    const general = await gradients(false);
    const fast = await gradients(true);
    // The fast path really ran: its graph has the batched MatMuls, the general one has none.
    expect(fast.nodes.filter((n) => n.opType === 'MatMul').length).toBeGreaterThan(10);
    expect(general.nodes.filter((n) => n.opType === 'MatMul').length).toBe(0);
    for (const [name, g] of general.grads) {
      const f = fast.grads.get(name)!;
      let num = 0;
      let den = 0;
      for (let i = 0; i < g.length; i++) {
        num += (f[i]! - g[i]!) ** 2;
        den += g[i]! ** 2;
      }
      expect(Math.sqrt(num / Math.max(den, 1e-20)), name).toBeLessThan(1e-4);
    }
  });

  it('the loss is the mean cross-entropy of the logits', async () => {
    const r = await gradients(true);
    let ref = 0;
    r.labels.forEach((label, i) => {
      const row = Array.from(r.logits.subarray(i * 10, i * 10 + 10));
      const m = Math.max(...row);
      ref += Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0)) + m - row[label]!;
    });
    expect(r.loss).toBeCloseTo(ref / B, 5);
  });

  it('the exported model (batch norm folded) reproduces the training graph given the batch statistics', async () => {
    const { model, net } = buildClassifier(cfg, { kind: 'train' }, B);
    const step = await TrainStep.create(model, { params: net.params, bns: net.bns, input: CLASSIFIER_INPUT, logits: LOGITS, batch: B, classes: 10 }, { threads: 1 });
    const w = initParams(net.params, 7, 'logits/W');
    // Non-trivial affine parameters of the norms.
    const rng = new Rng(11);
    for (const p of net.params) if (p.role === 'bn_scale' || p.role === 'bn_shift') rng.fillUniform(w.get(p.name)!, 0.5, 1.5);
    const { x, labels } = batch(9);
    const r = await step.run(x, targetRows(labels, 10), w);
    await step.release();
    const stats = new Map<string, RunningStats>();
    for (const [layer, s] of r.batchStats) stats.set(layer, { mean: s.mean, var: s.var });
    const inf = await Session.create(inferenceModel(cfg, w, stats), { threads: 1 });
    const out = await inf.run({ [CLASSIFIER_INPUT]: { dtype: 'float32', dims: [B, 3, 12, 12], data: x } });
    await inf.release();
    const logits = out[LOGITS]!.data as Float32Array;
    for (let i = 0; i < logits.length; i++) expect(logits[i]!).toBeCloseTo(r.logits[i]!, 3);
    const prob = out['prob']!.data as Float32Array;
    expect(prob.subarray(0, 10).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(Object.keys(out)).toEqual(expect.arrayContaining(['logits', 'prob']));
  });
});
