// The pixel-space loop from its options: the options (a method preset plus overrides), a parameterization
// (pixels, Lucid's decorrelated Fourier basis through a sigmoid, or MaCo's phase), a transform sampler
// (robustness), penalties (L2, TV) and filters (blur with clipping, bilateral) through the render loop
// (loop.ts). The network is any compiled objective program: ObjectiveGradient in Node, the served program
// on onnxruntime-web in the live page, which bundles this file.
import type { GradientProgram } from '../objectives/program-run.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import type { Nchw, Size2 } from '../../image/nchw.ts';
import type { RobustOptions } from '../transforms/transforms.ts';
import { robust as robustSampler } from '../transforms/index.ts';
import { pixelParam } from '../param/pixels.ts';
import { macoImage, type MacoParam } from '../param/maco.ts';
import { cropping } from '../transforms/crops.ts';
import { NAdam } from './nadam.ts';
import { FvizError } from '../../errors.ts';
import { nchw } from '../../image/nchw.ts';
import { Rng } from '../../util/rng.ts';
import { Adam, linearStep, NormalizedStep, type Optimizer } from './optimizers.ts';
import { render, type RenderResult } from './loop.ts';
import { methodPreset, piecesFor, type MethodName } from './presets.ts';

export interface PixelOptions {
  steps: number;
  seed: number;
  batch: number;
  param: 'pixel' | 'fourier' | 'maco';
  /** Lucid's color decorrelation (Fourier parameterization). */
  decorrelate: boolean;
  optimizer: 'adam' | 'normalized' | 'nadam';
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
  /** MaCo: the fixed Fourier magnitude, [3, H, W] (a dataset's average spectrum, analysis/spectrum.ts). */
  magnitude?: Float64Array;
  /** Random crops: the box side as a fraction [min, max] of the image's, resized to the input (replaces robust). */
  cropBox?: [number, number];
  /** Std of the Gaussian noise added to each crop. */
  cropNoise?: number;
  /** Keep the accumulated |d objective / d image| (MaCo's transparency map). */
  transparency?: boolean;
  /** Weights of penalties added with registerPenalty, by name. */
  penalties?: Record<string, number>;
  /** Periods of filters added with registerFilter, by name. */
  filterEvery?: Record<string, number>;
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

/** Lucid's pixel amounts (pad 12, jitter 8 and 4) are for 224-pixel inputs: scale those not given to the input size. */
export function robustForSize(o: RobustOptions, size: Size2): RobustOptions {
  const f = Math.min(size[0], size[1]) / 224;
  const px = (v: number) => Math.max(1, Math.round(v * f));
  return { pad: px(12), jitter: px(8), jitter2: px(4), ...o };
}

export function pixelOptions(method: MethodName, overrides: Partial<PixelOptions> = {}): PixelOptions {
  const o: PixelOptions = { ...BASE, ...methodPreset(method) };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  return o;
}

export interface PixelResult extends RenderResult {
  /** Applications of blur and bilateral filter and pixels clipped (plus any registered filter). */
  filters: { blur: number; bilateral: number; clipped: number } & Record<string, number>;
  /** MaCo: the accumulated |d objective / d image| per item, mean over channels, scaled to [0, 1] (grey). */
  transparency?: Nchw;
}

/** The accumulated gradient magnitude as a grey image per item, its maximum at 1. */
export function transparencyImage(acc: Float64Array, n: number, h: number, w: number): Nchw {
  const out = nchw(n, 3, h, w);
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    const m = new Float64Array(hw);
    for (let c = 0; c < 3; c++) for (let p = 0; p < hw; p++) m[p]! += acc[(i * 3 + c) * hw + p]! / 3;
    const max = Math.max(...m) || 1;
    for (let c = 0; c < 3; c++) for (let p = 0; p < hw; p++) out.data[(i * 3 + c) * hw + p] = m[p]! / max;
  }
  return out;
}

/** Runs a pixel-space visualization with a compiled network program: the preset's pieces through the render loop. */
export async function runPixel(net: GradientProgram, size: Size2, o: PixelOptions, session: SessionOptions = {}, onStep?: (step: number, perItem: number[]) => void): Promise<PixelResult> {
  const [H, W] = size;
  const N = o.batch;
  const rng = new Rng(o.seed);
  const trng = new Rng(o.seed + 104729);
  if (o.param === 'maco' && !o.magnitude) throw new FvizError('--method maco needs --dataset cifar10 or an image folder: its average spectrum is the fixed magnitude');
  const maco: MacoParam | undefined = o.param === 'maco' ? macoImage(N, H, W, rng, { magnitude: o.magnitude! }) : undefined;
  const param =
    maco ??
    (o.param === 'fourier'
      ? await (await import('../param/fourier-image.ts')).fourierImage(N, H, W, rng, { decorrelate: o.decorrelate, initStd: o.fourierInitStd }, session)
      : pixelParam(N, H, W, rng, { initStd: o.initStd, initImage: o.initImage }));
  const optimizer: Optimizer =
    o.optimizer === 'adam' ? new Adam(param.values.length, param.itemSize) : o.optimizer === 'nadam' ? new NAdam(param.values.length) : new NormalizedStep(param.itemSize);
  const robust = o.robust ? { ...robustForSize(o.robust, size), outSize: size } : undefined;
  const transforms = o.cropBox ? cropping(size, o.cropBox, o.cropNoise ?? 0) : robust ? robustSampler(robust) : undefined;
  const { penalties, filters } = piecesFor(o);
  const res = await render({
    network: net,
    param,
    steps: o.steps,
    optimizer,
    stepSize: (i) => (o.optimizer === 'normalized' ? linearStep(o.lr, o.endLr ?? o.lr, i, o.steps) : o.lr),
    transforms,
    rng: trng,
    penalties,
    filters,
    frames: o.frames,
    onStep,
  });
  const transparency = maco && o.transparency ? transparencyImage(maco.transparency, N, H, W) : undefined;
  return { ...res, filters: { blur: 0, bilateral: 0, clipped: 0, ...res.filters }, transparency };
}
