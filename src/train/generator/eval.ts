// Passes over a dataset with the frozen classifier: the code range (for the DGN-AM bounds) and the
// reconstruction error of G(E(x)) (pixel MSE in [0,1] units and the relative comparator-feature error).
import { pruneGraph } from '../../autodiff/compile.ts';
import { batchesSync, IDENTITY_NORMALIZATION } from '../../dataset/batches.ts';
import type { ImageSet } from '../../dataset/image-set.ts';
import { cloneModel, type TensorData } from '../../onnx/ir.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';
import { DISPLAY_INPUT } from '../../classifier/card.ts';
import { CodeRange } from './bounds.ts';
import type { DiscriminatorConfig } from './discriminator.ts';
import type { GeneratorConfig } from './net.ts';
import { buildGeneratorGraph, CODE_OUT, EVAL_FEATURE, EVAL_PIXEL, EVAL_TARGET, FAKE_OUT, REAL_IMAGE, type FrozenClassifier } from './step.ts';

/** Batches of a fixed size: the last one padded with copies of its first image; `count` says how many are real. */
function* paddedBatches(set: ImageSet, batch: number, indices?: ArrayLike<number>): Generator<{ x: Float32Array; count: number; indices: Uint32Array }> {
  for (const b of batchesSync(set, { batchSize: batch, norm: IDENTITY_NORMALIZATION, order: indices })) {
    const count = b.indices.length;
    if (count === batch) {
      yield { x: b.x, count, indices: b.indices };
      continue;
    }
    const per = b.x.length / count;
    const x = new Float32Array(batch * per);
    x.set(b.x);
    for (let k = count; k < batch; k++) x.set(b.x.subarray(0, per), k * per);
    yield { x, count, indices: b.indices };
  }
}

/** Per-unit minimum and maximum of the code layer over a set (no augmentation). */
export async function scanCodeRange(cls: FrozenClassifier, set: ImageSet, opts: SessionOptions & { onProgress?: (done: number, total: number) => void } = {}): Promise<CodeRange> {
  const m = cloneModel(cls.model);
  const t = m.graph.valueTypes.get(cls.codeLayer)!;
  m.graph.outputs = [{ name: cls.codeLayer, dtype: t.dtype, shape: [...t.shape] }];
  pruneGraph(m.graph);
  const B = m.graph.inputs[0]!.shape[0] as number;
  const [H, W] = cls.size;
  const session = await Session.create(m, { source: cls.path, ...opts });
  const range = new CodeRange(cls.codeSize);
  let done = 0;
  try {
    for (const b of paddedBatches(set, B)) {
      const out = await session.run({ [DISPLAY_INPUT]: { dtype: 'float32', dims: [B, 3, H, W], data: b.x } });
      range.add(out[cls.codeLayer]!.data as Float32Array, b.count);
      done += b.count;
      opts.onProgress?.(done, set.n);
    }
  } finally {
    await session.release();
  }
  return range;
}

export interface Reconstruction {
  n: number;
  /** Mean squared error per pixel and channel, images in [0,1]. */
  mse: number;
  /** sum ||C(G(E(x))) - C(x)||^2 / sum ||C(x)||^2 over the set (the training's feature loss). */
  feature: number;
}

/** A compiled evaluation program for one set of generator weights. */
export class ReconstructionEval {
  private constructor(
    private readonly session: Session,
    private readonly cls: FrozenClassifier,
    readonly batch: number,
  ) {}

  static async create(cls: FrozenClassifier, gen: GeneratorConfig, disc: DiscriminatorConfig, params: Map<string, Float32Array>, opts: SessionOptions = {}): Promise<ReconstructionEval> {
    const { model } = buildGeneratorGraph(cls, gen, disc, { pixel: 0, feature: 0, adversarial: 0 }, 'eval', params);
    pruneGraph(model.graph);
    const session = await Session.create(model, { source: 'reconstruction evaluation', ...opts });
    return new ReconstructionEval(session, cls, cls.model.graph.inputs[0]!.shape[0] as number);
  }

  /** Errors over `indices` of `set` (default all); `samples`: indices whose reconstructions to return. */
  async run(set: ImageSet, opts: { indices?: ArrayLike<number>; onProgress?: (done: number, total: number) => void } = {}): Promise<Reconstruction> {
    const B = this.batch;
    const [H, W] = this.cls.size;
    let pix = 0;
    let feat = 0;
    let energy = 0;
    let n = 0;
    const total = opts.indices?.length ?? set.n;
    for (const b of paddedBatches(set, B, opts.indices)) {
      const out = await this.session.run({ [REAL_IMAGE]: { dtype: 'float32', dims: [B, 3, H, W], data: b.x } });
      const p = out[EVAL_PIXEL]!.data as Float32Array;
      const f = out[EVAL_FEATURE]!.data as Float32Array;
      const e = out[EVAL_TARGET]!.data as Float32Array;
      for (let k = 0; k < b.count; k++) {
        pix += p[k]!;
        feat += f[k]!;
        energy += e[k]!;
      }
      n += b.count;
      opts.onProgress?.(n, total);
    }
    return { n, mse: pix / (n * 3 * H * W), feature: feat / Math.max(energy, 1e-12) };
  }

  /** G(E(x)) and E(x) for up to `batch` images. */
  async reconstruct(x: Float32Array, count: number): Promise<{ fake: Float32Array; code: Float32Array }> {
    const B = this.batch;
    const [H, W] = this.cls.size;
    const per = 3 * H * W;
    const padded = new Float32Array(B * per);
    padded.set(x.subarray(0, count * per));
    for (let k = count; k < B; k++) padded.set(x.subarray(0, per), k * per);
    const out: Record<string, TensorData> = await this.session.run({ [REAL_IMAGE]: { dtype: 'float32', dims: [B, 3, H, W], data: padded } });
    const K = this.cls.codeSize;
    return { fake: (out[FAKE_OUT]!.data as Float32Array).slice(0, count * per), code: (out[CODE_OUT]!.data as Float32Array).slice(0, count * K) };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
