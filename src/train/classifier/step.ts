// One compiled training step: (images, targets, weights) -> loss, logits, batch statistics and d loss / d weights.
import { compileFused } from '../../autodiff/compile.ts';
import type { Model, TensorData } from '../../onnx/ir.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';
import { toNumbers } from '../../onnx/tensor.ts';
import { withTrainingRules } from '../conv-weight-grad.ts';
import { LOSS, TARGET_INPUT, withCrossEntropy } from './loss.ts';
import type { BnInfo, ParamInfo } from '../net.ts';

export interface StepResult {
  loss: number;
  /** N x classes. */
  logits: Float32Array;
  grads: Map<string, Float32Array>;
  /** Per batch-normalized layer: batch mean and biased variance. */
  batchStats: Map<string, { mean: Float32Array; var: Float32Array }>;
}

export class TrainStep {
  readonly model: Model;
  private readonly session: Session;
  private readonly gradNames: Map<string, string>;
  readonly params: ParamInfo[];
  readonly bns: BnInfo[];
  readonly batch: number;
  readonly classes: number;
  readonly inputName: string;
  readonly logitsName: string;

  private constructor(model: Model, session: Session, gradNames: Map<string, string>, params: ParamInfo[], bns: BnInfo[], batch: number, classes: number, inputName: string, logitsName: string) {
    this.model = model;
    this.session = session;
    this.gradNames = gradNames;
    this.params = params;
    this.bns = bns;
    this.batch = batch;
    this.classes = classes;
    this.inputName = inputName;
    this.logitsName = logitsName;
  }

  /** `net` is the training-mode network (fixed batch) with `logits` as output. */
  static async create(
    net: Model,
    info: { params: ParamInfo[]; bns: BnInfo[]; input: string; logits: string; batch: number; classes: number },
    opts: SessionOptions = {},
  ): Promise<TrainStep> {
    const withLoss = withCrossEntropy(net, info.logits, info.batch, info.classes);
    const prog = withTrainingRules(() =>
      compileFused(withLoss, {
        outputs: [LOSS],
        wrt: info.params.map((p) => p.name),
        seedOnes: true,
        extraOutputs: [info.logits, ...info.bns.flatMap((b) => [b.meanOut, b.varOut])],
      }),
    );
    const session = await Session.create(prog.model, { source: 'training step', ...opts });
    return new TrainStep(prog.model, session, prog.gradNames, info.params, info.bns, info.batch, info.classes, info.input, info.logits);
  }

  async run(x: Float32Array, target: Float32Array, weights: Map<string, Float32Array>): Promise<StepResult> {
    const feeds: Record<string, TensorData> = {};
    feeds[this.inputName] = { dtype: 'float32', dims: this.model.graph.inputs.find((i) => i.name === this.inputName)!.shape as number[], data: x };
    feeds[TARGET_INPUT] = { dtype: 'float32', dims: [this.batch, this.classes], data: target };
    for (const p of this.params) feeds[p.name] = { dtype: 'float32', dims: p.dims, data: weights.get(p.name)! };
    const out = await this.session.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const [w, name] of this.gradNames) grads.set(w, out[name]!.data as Float32Array);
    const batchStats = new Map<string, { mean: Float32Array; var: Float32Array }>();
    for (const b of this.bns) batchStats.set(b.layer, { mean: out[b.meanOut]!.data as Float32Array, var: out[b.varOut]!.data as Float32Array });
    return { loss: toNumbers(out[LOSS]!)[0]!, logits: out[this.logitsName]!.data as Float32Array, grads, batchStats };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
