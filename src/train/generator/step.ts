// The compiled programs of generator training (Dosovitskiy & Brox 2016), all on onnxruntime:
//  - the generator step: real images x -> frozen classifier -> code (fc6) and comparator features C(x);
//    G(code) -> frozen classifier again -> C(G(code)); D(G(code), code). One graph computes
//      loss = w_pix * mean (G - x)^2 + w_feat * sum (C(G) - C(x))^2 / sum C(x)^2 + w_adv * mean softplus(-D)
//    and its gradient w.r.t. G's weights only: the comparator and D are frozen inside it, their weights
//    constants (classifier) or fed inputs (D).
//  - the discriminator step: D on [real; generated] with the code, logistic loss, gradients w.r.t. D.
//  - the evaluation program: per-image pixel and feature errors of G(E(x)), no gradients.
// The feature loss is relative (divided by the energy of the real features), so its weight keeps its
// meaning across classifiers and checkpoints whose feature scales differ.
import { FvizError } from '../../errors.ts';
import { compileFused } from '../../autodiff/compile.ts';
import { DISPLAY_INPUT, openClassifier, withDisplayInput, type ClassifierCard } from '../../classifier/card.ts';
import { resolveTensor } from '../../optvis/objectives/build.ts';
import { prefixModel } from '../../onnx/compose.ts';
import type { Graph, Model, TensorData } from '../../onnx/ir.ts';
import { emptyGraph, emptyModel } from '../../onnx/ir.ts';
import { prepareModel } from '../../onnx/prepare.ts';
import { readModel } from '../../onnx/proto.ts';
import { inferShapes } from '../../onnx/shapes.ts';
import { tensor, toNumbers } from '../../onnx/tensor.ts';
import { sortGraph } from '../../onnx/topo.ts';
import { Session, type SessionOptions } from '../../runtime/session.ts';
import { withTrainingRules } from '../conv-weight-grad.ts';
import { emitDiscriminator, DISCRIMINATOR_PREFIX, type DiscriminatorConfig } from './discriminator.ts';
import { initializersToInputs, LayerEmitter, type LayerParam } from './layers.ts';
import { emitGenerator, GENERATOR_PREFIX, type GeneratorConfig } from './net.ts';

export interface GanLossWeights {
  pixel: number;
  feature: number;
  adversarial: number;
}

/** The frozen classifier as the encoder and comparator: prepared at a fixed batch, display input 'image'. */
export interface FrozenClassifier {
  model: Model;
  card: ClassifierCard;
  path: string;
  /** Resolved tensor names. */
  codeLayer: string;
  comparator: string;
  codeSize: number;
  comparatorSize: number;
  size: [number, number];
}

export function loadFrozenClassifier(path: string, batch: number, opts: { codeLayer?: string; comparator: string }): FrozenClassifier {
  const cls = openClassifier(path);
  const prepared = prepareModel(readModel(cls.modelPath), { batch, source: cls.modelPath });
  const model = withDisplayInput(prepared, cls.card.input);
  const aliases = cls.card.aliases ?? {};
  const codeLayer = resolveTensor(model.graph, opts.codeLayer ?? cls.card.codeLayer ?? 'fc6', aliases);
  const comparator = resolveTensor(model.graph, opts.comparator, aliases);
  const codeShape = model.graph.valueTypes.get(codeLayer)!.shape as number[];
  if (codeShape.length !== 2) throw new FvizError(`code layer '${codeLayer}' has shape [${codeShape}]; a generator inverts an N x K layer (a fully connected code such as fc6)`);
  const compShape = model.graph.valueTypes.get(comparator)!.shape as number[];
  return {
    model,
    card: cls.card,
    path: cls.modelPath,
    codeLayer,
    comparator,
    codeSize: codeShape[1]!,
    comparatorSize: compShape.slice(1).reduce((a, d) => a * d, 1),
    size: cls.card.input.size,
  };
}

/** Copies `part` into `g` with names prefixed (initializers shared, unprefixed); its inputs read `links`. */
function graft(g: Graph, part: Model, prefix: string, links: Record<string, string>): void {
  const p = prefixModel(part, prefix, new Set(part.graph.initializers.keys())).graph;
  for (const [k, v] of p.initializers) if (!g.initializers.has(k)) g.initializers.set(k, v);
  for (const [k, v] of p.valueTypes) g.valueTypes.set(k, v);
  g.nodes.push(...p.nodes);
  for (const input of p.inputs) {
    const src = links[input.name.slice(prefix.length)];
    if (!src) throw new FvizError(`internal: no link for input '${input.name}'`);
    g.nodes.push({ name: `${input.name}:link`, opType: 'Identity', domain: '', inputs: [src], outputs: [input.name], attrs: {} });
  }
}

export const REAL_IMAGE = 'x';
export const LOSS_G = 'loss_g';
export const LOSS_PIXEL = 'loss_pixel';
export const LOSS_FEATURE = 'loss_feature';
export const LOSS_ADV = 'loss_adv';
export const CODE_OUT = 'code';
export const FAKE_OUT = 'fake';
export const D_IMAGE = 'd_image';
export const D_CODE = 'd_code';
export const D_TARGET = 'd_target';
export const LOSS_D = 'loss_d';
export const D_LOGIT = 'd_logit';
/** Evaluation outputs: per image, sum of squared pixel errors, of squared feature errors, of squared real features. */
export const EVAL_PIXEL = 'pixel_sq';
export const EVAL_FEATURE = 'feature_sq';
export const EVAL_TARGET = 'target_sq';

export interface GeneratorGraph {
  model: Model;
  gParams: LayerParam[];
  dParams: LayerParam[];
}

/**
 * The generator step's forward graph ('train': the weighted loss and its parts, D's weights as inputs) or
 * the evaluation graph ('eval': per-image errors, no D; `gValues` become the generator's initializers).
 */
export function buildGeneratorGraph(
  cls: FrozenClassifier,
  gen: GeneratorConfig,
  disc: DiscriminatorConfig,
  weights: GanLossWeights,
  mode: 'train' | 'eval',
  gValues?: Map<string, Float32Array>,
): GeneratorGraph {
  const B = cls.model.graph.inputs[0]!.shape[0] as number;
  const [H, W] = cls.size;
  const g = emptyGraph(`generator_${mode}`);
  g.inputs.push({ name: REAL_IMAGE, dtype: 'float32', shape: [B, 3, H, W] });
  g.valueTypes.set(REAL_IMAGE, { dtype: 'float32', shape: [B, 3, H, W] });
  const fakeName = `${GENERATOR_PREFIX}image`;
  graft(g, cls.model, 'real/', { [DISPLAY_INPUT]: REAL_IMAGE });
  graft(g, cls.model, 'fake/', { [DISPLAY_INPUT]: fakeName });
  const code = `real/${cls.codeLayer}`;
  const target = `real/${cls.comparator}`;
  const feat = `fake/${cls.comparator}`;
  const layers = new LayerEmitter(g, gValues);
  const fake = emitGenerator(layers, code, cls.codeSize, gen);
  if (fake !== fakeName) throw new FvizError(`internal: generator output '${fake}'`);
  if (gen.size[0] !== H || gen.size[1] !== W) throw new FvizError(`generator makes ${gen.size[0]}x${gen.size[1]} images, the classifier takes ${H}x${W}`);
  const b = layers.b;
  const c = (v: number) => b.constant(tensor('float32', [], [v]), 'loss/c');
  const axes = (r: number) => b.constant(tensor('int64', [r - 1], Array.from({ length: r - 1 }, (_, k) => k + 1)), 'loss/axes');
  const rank = (v: string) => g.valueTypes.get(v)?.shape.length ?? 4;
  const sq = (a: string, bb: string, base: string) => {
    const d = b.op('Sub', [a, bb], {}, `${base}/diff`);
    return b.op('Mul', [d, d], {}, `${base}/sq`);
  };
  const perImage = (x: string, r: number, out: string) => b.node('ReduceSum', [x, axes(r)], { keepdims: { i: 0 } }, [out])[0]!;
  const featRank = rank(target);
  const pixSq = sq(fake, REAL_IMAGE, 'loss/pixel');
  const featSq = sq(feat, target, 'loss/feature');
  const targetSq = b.op('Mul', [target, target], {}, 'loss/target_sq');
  const gParams = layers.params.slice();
  g.outputs = [];
  if (mode === 'eval') {
    perImage(pixSq, 4, EVAL_PIXEL);
    perImage(featSq, featRank, EVAL_FEATURE);
    perImage(targetSq, featRank, EVAL_TARGET);
    b.node('Identity', [fake], {}, [FAKE_OUT]);
    b.node('Identity', [code], {}, [CODE_OUT]);
    for (const o of [EVAL_PIXEL, EVAL_FEATURE, EVAL_TARGET, FAKE_OUT, CODE_OUT]) g.outputs.push({ name: o, dtype: 'float32', shape: [] });
    inferShapes(g);
    sortGraph(g);
    return { model: emptyModel(g), gParams, dParams: [] };
  }
  // Opset 17: ReduceMean takes its axes as an attribute, ReduceSum as an input.
  const every = (r: number) => Array.from({ length: r }, (_, k) => k);
  const all = (x: string, r: number, out: string, mean: boolean) =>
    mean
      ? b.node('ReduceMean', [x], { axes: { ints: every(r) }, keepdims: { i: 0 } }, [out])[0]!
      : b.node('ReduceSum', [x, b.constant(tensor('int64', [r], every(r)), 'loss/all_axes')], { keepdims: { i: 0 } }, [out])[0]!;
  const pixel = all(pixSq, 4, LOSS_PIXEL, true);
  const featErr = all(featSq, featRank, 'loss/feature_err', false);
  const featEnergy = b.op('Add', [all(targetSq, featRank, 'loss/feature_energy', false), c(1e-12)], {}, 'loss/feature_energy_eps');
  const feature = b.node('Div', [featErr, featEnergy], {}, [LOSS_FEATURE])[0]!;
  const logit = emitDiscriminator(layers, fake, code, cls.codeSize, cls.size, disc);
  const dParams = layers.params.slice(gParams.length);
  // Non-saturating generator loss: -log sigmoid(D(G)) = softplus(-D(G)).
  const adv = all(b.op('Softplus', [b.op('Neg', [logit], {}, 'loss/neg_logit')], {}, 'loss/softplus'), 2, LOSS_ADV, true);
  const terms = [
    b.op('Mul', [pixel, c(weights.pixel)], {}, 'loss/w_pixel'),
    b.op('Mul', [feature, c(weights.feature)], {}, 'loss/w_feature'),
    b.op('Mul', [adv, c(weights.adversarial)], {}, 'loss/w_adv'),
  ];
  b.node('Sum', terms, {}, [LOSS_G]);
  b.node('Identity', [fake], {}, [FAKE_OUT]);
  b.node('Identity', [code], {}, [CODE_OUT]);
  b.node('Identity', [logit], {}, [D_LOGIT]);
  initializersToInputs(
    g,
    dParams.map((p) => p.name),
  );
  for (const o of [LOSS_G, LOSS_PIXEL, LOSS_FEATURE, LOSS_ADV, FAKE_OUT, CODE_OUT, D_LOGIT]) g.outputs.push({ name: o, dtype: 'float32', shape: [] });
  inferShapes(g);
  sortGraph(g);
  return { model: emptyModel(g), gParams, dParams };
}

/** The discriminator step's forward graph: D on a batch of 2B (real then generated) with targets 1 / 0. */
export function buildDiscriminatorGraph(disc: DiscriminatorConfig, codeSize: number, size: [number, number], batch: number): { model: Model; dParams: LayerParam[] } {
  const g = emptyGraph('discriminator_train');
  const layers = new LayerEmitter(g);
  const image = layers.input(D_IMAGE, [batch, 3, ...size]);
  const code = layers.input(D_CODE, [batch, codeSize]);
  const target = layers.input(D_TARGET, [batch, 1]);
  const b = layers.b;
  const logit = emitDiscriminator(layers, image, code, codeSize, size, disc);
  // Logistic loss with logits: softplus(l) - t * l.
  const per = b.op('Sub', [b.op('Softplus', [logit], {}, 'loss/softplus'), b.op('Mul', [target, logit], {}, 'loss/tl')], {}, 'loss/per');
  b.node('ReduceMean', [per], { axes: { ints: [0, 1] }, keepdims: { i: 0 } }, [LOSS_D]);
  b.node('Identity', [logit], {}, [D_LOGIT]);
  g.outputs = [LOSS_D, D_LOGIT].map((name) => ({ name, dtype: 'float32' as const, shape: [] }));
  inferShapes(g);
  sortGraph(g);
  return { model: emptyModel(g), dParams: layers.params };
}

export interface GeneratorStepResult {
  loss: number;
  pixel: number;
  feature: number;
  adversarial: number;
  grads: Map<string, Float32Array>;
  /** G(E(x)), B x 3 x H x W in [0,1]. */
  fake: Float32Array;
  /** E(x), B x codeSize. */
  code: Float32Array;
  /** D's logits on the generated images. */
  logits: Float32Array;
}

export interface DiscriminatorStepResult {
  loss: number;
  grads: Map<string, Float32Array>;
  /** Fraction of real images D calls real, and of generated ones it calls generated. */
  accReal: number;
  accFake: number;
}

const feed = (dims: number[], data: Float32Array): TensorData => ({ dtype: 'float32', dims, data });

/** The two compiled training steps of generator training. */
export class GanSteps {
  private constructor(
    readonly cls: FrozenClassifier,
    readonly gParams: LayerParam[],
    readonly dParams: LayerParam[],
    private readonly gSession: Session,
    private readonly gGradNames: Map<string, string>,
    private readonly dSession: Session,
    private readonly dGradNames: Map<string, string>,
    readonly batch: number,
  ) {}

  static async create(cls: FrozenClassifier, gen: GeneratorConfig, disc: DiscriminatorConfig, weights: GanLossWeights, opts: SessionOptions = {}): Promise<GanSteps> {
    const B = cls.model.graph.inputs[0]!.shape[0] as number;
    const gg = buildGeneratorGraph(cls, gen, disc, weights, 'train');
    const gProg = withTrainingRules(() =>
      compileFused(gg.model, { outputs: [LOSS_G], wrt: gg.gParams.map((p) => p.name), seedOnes: true, extraOutputs: [LOSS_PIXEL, LOSS_FEATURE, LOSS_ADV, FAKE_OUT, CODE_OUT, D_LOGIT] }),
    );
    const dg = buildDiscriminatorGraph(disc, cls.codeSize, cls.size, 2 * B);
    const dProg = withTrainingRules(() => compileFused(dg.model, { outputs: [LOSS_D], wrt: dg.dParams.map((p) => p.name), seedOnes: true, extraOutputs: [D_LOGIT] }));
    const gSession = await Session.create(gProg.model, { source: 'generator training step', ...opts });
    const dSession = await Session.create(dProg.model, { source: 'discriminator training step', ...opts });
    return new GanSteps(cls, gg.gParams, dg.dParams, gSession, gProg.gradNames, dSession, dProg.gradNames, B);
  }

  async generator(x: Float32Array, gw: Map<string, Float32Array>, dw: Map<string, Float32Array>): Promise<GeneratorStepResult> {
    const [H, W] = this.cls.size;
    const feeds: Record<string, TensorData> = { [REAL_IMAGE]: feed([this.batch, 3, H, W], x) };
    for (const p of this.gParams) feeds[p.name] = feed(p.dims, gw.get(p.name)!);
    for (const p of this.dParams) feeds[p.name] = feed(p.dims, dw.get(p.name)!);
    const out = await this.gSession.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const [w, name] of this.gGradNames) grads.set(w, out[name]!.data as Float32Array);
    const num = (k: string) => toNumbers(out[k]!)[0]!;
    return {
      loss: num(LOSS_G),
      pixel: num(LOSS_PIXEL),
      feature: num(LOSS_FEATURE),
      adversarial: num(LOSS_ADV),
      grads,
      fake: out[FAKE_OUT]!.data as Float32Array,
      code: out[CODE_OUT]!.data as Float32Array,
      logits: out[D_LOGIT]!.data as Float32Array,
    };
  }

  /** D on the real images and the generated ones, both with the real images' codes. */
  async discriminator(real: Float32Array, fake: Float32Array, code: Float32Array, dw: Map<string, Float32Array>): Promise<DiscriminatorStepResult> {
    const B = this.batch;
    const [H, W] = this.cls.size;
    const K = this.cls.codeSize;
    const image = new Float32Array(2 * real.length);
    image.set(real);
    image.set(fake, real.length);
    const codes = new Float32Array(2 * B * K);
    codes.set(code);
    codes.set(code, B * K);
    const target = new Float32Array(2 * B);
    target.fill(1, 0, B);
    const feeds: Record<string, TensorData> = { [D_IMAGE]: feed([2 * B, 3, H, W], image), [D_CODE]: feed([2 * B, K], codes), [D_TARGET]: feed([2 * B, 1], target) };
    for (const p of this.dParams) feeds[p.name] = feed(p.dims, dw.get(p.name)!);
    const out = await this.dSession.run(feeds);
    const grads = new Map<string, Float32Array>();
    for (const [w, name] of this.dGradNames) grads.set(w, out[name]!.data as Float32Array);
    const logits = out[D_LOGIT]!.data as Float32Array;
    let real1 = 0;
    let fake0 = 0;
    for (let i = 0; i < B; i++) {
      if (logits[i]! > 0) real1++;
      if (logits[B + i]! <= 0) fake0++;
    }
    return { loss: toNumbers(out[LOSS_D]!)[0]!, grads, accReal: real1 / B, accFake: fake0 / B };
  }

  async release(): Promise<void> {
    await this.gSession.release();
    await this.dSession.release();
  }
}

export { DISCRIMINATOR_PREFIX };
