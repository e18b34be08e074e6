// Pixel-space feature visualization: the baselines the learned prior is judged against. A method is a
// preset of composable pieces (parameterization, penalties, filters every k steps, random transforms,
// optimizer); every piece is also an option. One step:
//   param -> image (pixels, or Lucid's decorrelated Fourier basis through sigmoid)
//   -> random transform T (robustness) -> classifier -> objective (+ diversity)
//   gradient: T^T, minus penalty gradients (L2, TV), back to the parameter; optimizer step;
//   every k steps: blur (+ Yosinski's clipping) or bilateral filter; pixels stay in [0, 1].
import { FvizError } from '../../errors.ts';
import { GraphBuilder } from '../../onnx/builder.ts';
import type { Model } from '../../onnx/ir.ts';
import { emptyGraph, emptyModel } from '../../onnx/ir.ts';
import { ObjectiveGradient, Vjp } from '../objectives/gradient.ts';
import { DISPLAY_INPUT, withDisplayInput, type ClassifierCard } from '../../classifier/card.ts';
import type { ObjectiveModel, ObjectiveNames } from '../objectives/build.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import { nchw, type Nchw, type Size2 } from '../../image/nchw.ts';
import { robustPipeline, type RobustOptions, type Transform } from '../transforms/transforms.ts';
import { bilateralFilter, clipPixels, gaussianBlur, l2Penalty, totalVariation } from '../penalties/filters.ts';
import { FourierParam } from '../param/fourier.ts';
import { Rng } from '../../util/rng.ts';
import { Adam, linearStep, NormalizedStep, type Optimizer } from './optimizers.ts';
import { appendDiversity } from '../objectives/diversity.ts';

export const PIXEL_METHODS = ['naive', 'l2', 'tv', 'blur', 'bilateral', 'robust', 'fourier'] as const;
export type PixelMethod = (typeof PIXEL_METHODS)[number];

export interface PixelOptions {
  steps: number;
  seed: number;
  batch: number;
  param: 'pixel' | 'fourier';
  /** Lucid's color decorrelation (Fourier parameterization). */
  decorrelate: boolean;
  optimizer: 'adam' | 'normalized';
  /** Adam's learning rate, or the normalized step's start size. */
  lr: number;
  /** Normalized step: final step size (linear decay from lr). */
  endLr?: number;
  /** Weight of the L2 penalty sum (x - 0.5)^2, relative to the objective (1: equal mean |gradient|). */
  l2: number;
  /** Weight of the total-variation penalty (sum of squared neighbour differences), relative as l2. */
  tv: number;
  blurEvery: number;
  blurSigma: number;
  /** Yosinski et al.'s clipping with blur: zero pixels below these percentiles of norm / contribution. */
  clipNormPercentile: number;
  clipContributionPercentile: number;
  bilateralEvery: number;
  bilateralSigmaSpatial: number;
  bilateralSigmaRange: number;
  /** Random transforms each step (null: none). */
  robust: RobustOptions | null;
  /** Initial pixel noise around mid-grey (pixel parameterization). */
  initStd: number;
  /** Std of the initial Fourier coefficients (Lucid: 0.01). */
  fourierInitStd: number;
  /** Start from these images instead of noise ([N or 1, 3, H, W] in [0, 1]). */
  initImage?: Nchw;
  /** Diversity term (Lucid): weight and layer. */
  diversity: number;
  diversityLayer?: string;
  frames: number[];
}

const BASE: PixelOptions = {
  steps: 256,
  seed: 0,
  batch: 1,
  param: 'pixel',
  decorrelate: false,
  optimizer: 'adam',
  lr: 0.05,
  l2: 0,
  tv: 0,
  blurEvery: 0,
  blurSigma: 0.5,
  clipNormPercentile: 0,
  clipContributionPercentile: 0,
  bilateralEvery: 0,
  bilateralSigmaSpatial: 1.5,
  bilateralSigmaRange: 0.1,
  robust: null,
  initStd: 0.1,
  fourierInitStd: 0.01,
  diversity: 0,
  frames: [],
};

const LUCID_ROBUST: RobustOptions = {};

/** Lucid's pixel amounts (pad 12, jitter 8 and 4) are for 224-pixel inputs: scale those not given to the input size. */
export function robustForSize(o: RobustOptions, size: Size2): RobustOptions {
  const f = Math.min(size[0], size[1]) / 224;
  const px = (v: number) => Math.max(1, Math.round(v * f));
  return { pad: px(12), jitter: px(8), jitter2: px(4), ...o };
}

/** The presets: each method is a few pieces switched on. */
export function methodPreset(method: PixelMethod): Partial<PixelOptions> {
  switch (method) {
    case 'naive':
      return {};
    case 'l2':
      return { l2: 0.5 };
    case 'tv':
      return { tv: 1 };
    case 'blur':
      return { blurEvery: 4, blurSigma: 1.0, clipNormPercentile: 10, clipContributionPercentile: 10 };
    case 'bilateral':
      return { bilateralEvery: 2, bilateralSigmaSpatial: 1.0, bilateralSigmaRange: 0.6 };
    case 'robust':
      return { robust: LUCID_ROBUST };
    case 'fourier':
      return { param: 'fourier', decorrelate: true, robust: LUCID_ROBUST };
  }
}

export function pixelOptions(method: PixelMethod, overrides: Partial<PixelOptions> = {}): PixelOptions {
  const o: PixelOptions = { ...BASE, ...methodPreset(method) };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  return o;
}

export interface PixelProgramOptions extends SessionOptions {
  /** Prepared classifier (batch fixed). */
  classifier: Model;
  card: ClassifierCard;
  objective: string;
  names?: ObjectiveNames;
  diversity?: { weight: number; layer: string };
}

/** The classifier on display images, compiled with the objective (and diversity). */
export async function pixelNetwork(opts: PixelProgramOptions): Promise<ObjectiveGradient> {
  const model = withDisplayInput(opts.classifier, opts.card.input);
  const div = opts.diversity;
  return ObjectiveGradient.create(model, {
    ...opts,
    wrt: [DISPLAY_INPUT],
    extend: div && div.weight !== 0 ? (obj: ObjectiveModel) => appendDiversity(obj, div.layer, div.weight) : undefined,
  });
}

/** The Fourier parameterization as a program: spectrum -> RGB in [0,1], with its VJP. */
async function fourierProgram(fp: FourierParam, opts: SessionOptions): Promise<Vjp> {
  const g = emptyGraph('fourier');
  g.inputs.push({ name: 'spectrum', dtype: 'float32', shape: [...fp.paramDims] });
  g.valueTypes.set('spectrum', { dtype: 'float32', shape: [...fp.paramDims] });
  const b = new GraphBuilder(g);
  const rgb = fp.emit(b, 'spectrum', 'float32');
  g.outputs.push({ name: rgb, dtype: 'float32', shape: [fp.n, 3, fp.h, fp.w] });
  const { prepareModel } = await import('../../onnx/prepare.ts');
  const m = prepareModel(emptyModel(g));
  return Vjp.create(m, [rgb], ['spectrum'], opts);
}

export interface PixelResult {
  image: Nchw;
  /** Objective per item at each step (on the transformed image), then the final (untransformed) value. */
  history: number[][];
  /** Objective per item of the starting image, untransformed. */
  initial: number[];
  final: number[];
  frames: Map<number, Nchw>;
  /** Per-step transform parameters are not kept; this counts filter applications. */
  filters: { blur: number; bilateral: number; clipped: number };
  timing: { networkMs: number; aroundMs: number };
}

function clamp01(x: Nchw): void {
  const d = x.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    d[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
}

function meanAbs(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
  return s / a.length;
}

/** a -= w * pull / mean|b| * b */
function subRelative(a: Float32Array, b: Float32Array, w: number, pull: number): void {
  const m = meanAbs(b);
  if (!(m > 0) || !(pull > 0)) return;
  const k = (w * pull) / m;
  for (let i = 0; i < a.length; i++) a[i]! -= k * b[i]!;
}

/** Runs a pixel-space visualization with a compiled network program. */
export async function runPixel(net: ObjectiveGradient, size: Size2, o: PixelOptions, session: SessionOptions = {}, onStep?: (step: number, perItem: number[]) => void): Promise<PixelResult> {
  const [H, W] = size;
  const N = o.batch;
  const rng = new Rng(o.seed);
  const trng = new Rng(o.seed + 104729);
  let image: Nchw;
  let spectrum: Nchw | undefined;
  let fp: FourierParam | undefined;
  let fprog: Vjp | undefined;
  if (o.param === 'fourier') {
    fp = new FourierParam(N, H, W, { decorrelate: o.decorrelate, sigmoid: true });
    spectrum = fp.init(rng, o.fourierInitStd);
    fprog = await fourierProgram(fp, session);
    image = nchw(N, 3, H, W);
  } else {
    image = nchw(N, 3, H, W);
    if (o.initImage) {
      const [n0, c0, h0, w0] = o.initImage.dims;
      if (c0 !== 3 || h0 !== H || w0 !== W) throw new FvizError(`initial image is ${c0}x${h0}x${w0}; the classifier takes 3x${H}x${W}`);
      for (let k = 0; k < N; k++) image.data.set(o.initImage.data.subarray((k % n0) * 3 * H * W, ((k % n0) + 1) * 3 * H * W), k * 3 * H * W);
    } else {
      for (let i = 0; i < image.data.length; i++) image.data[i] = 0.5 + o.initStd * rng.normal();
      clamp01(image);
    }
  }
  const param = spectrum ?? image;
  const itemSize = param.data.length / N;
  const optimizer: Optimizer & { skippedNaN: number[] } = o.optimizer === 'adam' ? new Adam(param.data.length, itemSize) : new NormalizedStep(itemSize);
  const frameSet = new Set(o.frames);
  const frames = new Map<number, Nchw>();
  const history: number[][] = [];
  const filters = { blur: 0, bilateral: 0, clipped: 0 };
  let networkMs = 0;
  let aroundMs = 0;
  let fstate: Record<string, import('../../onnx/ir.ts').TensorData> | undefined;
  const render = async (): Promise<Nchw> => {
    if (!fprog) return image;
    const f = await fprog.forward({ spectrum: spectrum! });
    fstate = f.state;
    const out = f.outputs[fprog.outputs[0]!]!;
    return { dtype: 'float32', dims: [N, 3, H, W], data: out.data as Float32Array };
  };
  const evaluate = async (img: Nchw) => (await net.run({ [DISPLAY_INPUT]: img })).perItem;
  const robust = o.robust ? { ...robustForSize(o.robust, size), outSize: size } : undefined;
  let current = await render();
  const initial = await evaluate(current);
  for (let i = 0; i < o.steps; i++) {
    const t0 = performance.now();
    if (frameSet.has(i)) frames.set(i, { ...current, data: current.data.slice() });
    const T: Transform | undefined = robust ? robustPipeline(trng, size, robust) : undefined;
    const seen = T ? T.apply(current) : current;
    const t1 = performance.now();
    const r = await net.run({ [DISPLAY_INPUT]: seen });
    const t2 = performance.now();
    history.push(r.perItem);
    onStep?.(i, r.perItem);
    const gSeen = r.grads.get(DISPLAY_INPUT)!;
    const g: Nchw = T ? T.adjoint({ dtype: 'float32', dims: [N, 3, ...T.outSize] as [number, number, number, number], data: gSeen.data as Float32Array }) : { dtype: 'float32', dims: [N, 3, H, W], data: (gSeen.data as Float32Array).slice() };
    // Penalty weights are relative to the objective's pull: weight 1 makes the penalty's mean |gradient|
    // equal the objective's, so a preset means the same on any model and unit.
    if (o.l2 || o.tv) {
      const pull = meanAbs(g.data);
      if (o.l2) subRelative(g.data, l2Penalty(current).grad.data, o.l2, pull);
      if (o.tv) subRelative(g.data, totalVariation(current).grad.data, o.tv, pull);
    }
    let gParam = g.data;
    if (fprog) {
      const back = await fprog.backward(fstate!, { [fprog.outputs[0]!]: g });
      gParam = back.get('spectrum')!.data as Float32Array;
    }
    const lr = o.optimizer === 'normalized' ? linearStep(o.lr, o.endLr ?? o.lr, i, o.steps) : o.lr;
    optimizer.step(param.data, gParam, lr);
    if (!fprog) {
      clamp01(image);
      const k = i + 1;
      if (o.blurEvery && k % o.blurEvery === 0) {
        let next = gaussianBlur(image, o.blurSigma);
        if (o.clipNormPercentile || o.clipContributionPercentile) {
          const c = clipPixels(next, g, { normPercentile: o.clipNormPercentile, contributionPercentile: o.clipContributionPercentile });
          next = c.image;
          filters.clipped += c.clipped.reduce((s, v) => s + v, 0);
        }
        image.data.set(next.data);
        filters.blur++;
      }
      if (o.bilateralEvery && k % o.bilateralEvery === 0) {
        image.data.set(bilateralFilter(image, { sigmaSpatial: o.bilateralSigmaSpatial, sigmaRange: o.bilateralSigmaRange }).data);
        filters.bilateral++;
      }
    }
    current = await render();
    // The Fourier graph, transforms, penalties and filters are the work around the network.
    networkMs += t2 - t1;
    aroundMs += t1 - t0 + (performance.now() - t2);
  }
  if (frameSet.has(o.steps)) frames.set(o.steps, { ...current, data: current.data.slice() });
  const final = await evaluate(current);
  history.push(final);
  await fprog?.release();
  return { image: { ...current, data: current.data.slice() }, history, initial, final, frames, filters, timing: { networkMs, aroundMs } };
}
