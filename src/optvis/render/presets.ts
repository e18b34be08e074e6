// The method names are rows of one table: each switches on a few pieces (options of the pixel loop).
// The pieces table says which penalty or filter a set of options asks for. Adding a regularizer is a
// file in penalties/ plus a row here, or, from outside the package, registerPenalty / registerFilter
// and registerMethod.
import { FvizError } from '../../errors.ts';
import { bilateral } from '../penalties/bilateral.ts';
import { blur } from '../penalties/blur.ts';
import { l2 } from '../penalties/l2.ts';
import type { Filter, Penalty } from '../penalties/penalty.ts';
import { tv } from '../penalties/tv.ts';
import type { RobustOptions } from '../transforms/transforms.ts';
import type { PixelOptions } from './pixel-run.ts';

export const PIXEL_METHODS = ['naive', 'l2', 'tv', 'blur', 'bilateral', 'robust', 'fourier'] as const;
/** Pixel-space methods that need a dataset (MaCo's magnitude is its average spectrum): not in the default lists. */
export const DATASET_METHODS = ['maco'] as const;
export type PixelMethod = (typeof PIXEL_METHODS)[number];
/** A built-in pixel method or one added with registerMethod. */
export type MethodName = PixelMethod | (string & {});

export interface MethodRow {
  /** One line for the docs. */
  describe: string;
  /** How the image is parameterized: pixels (or Fourier, through `preset.param`), or a generator's code. */
  param: 'pixel' | 'generator';
  /** Needs a dataset (MaCo: its average spectrum is the fixed magnitude). */
  dataset?: boolean;
  /** The pieces switched on. */
  preset: Partial<PixelOptions>;
}

const LUCID_ROBUST: RobustOptions = {};
/** MaCo's settings for classifier-sized images (Horama crops 0.20-0.25 of a 1280-pixel canvas for a 224 input; here the canvas is the input). */
const MACO: Partial<PixelOptions> = { param: 'maco', optimizer: 'nadam', lr: 0.2, cropBox: [0.7, 1.0], cropNoise: 0.05 };

/** Every method of `fviz visualize --method`. */
export const METHODS = new Map<string, MethodRow>([
  ['dgn', { describe: "Nguyen et al.'s DGN-AM in the code of a generator", param: 'generator', preset: {} }],
  ['ppgn', { describe: "Nguyen et al.'s PPGN-h: the code sampled with the prior E(G(h)) - h, the condition and noise", param: 'generator', preset: {} }],
  ['naive', { describe: 'gradient ascent (Adam) from noise', param: 'pixel', preset: {} }],
  ['l2', { describe: 'plus an L2 penalty towards grey', param: 'pixel', preset: { l2: 0.5 } }],
  ['tv', { describe: 'plus a total-variation penalty', param: 'pixel', preset: { tv: 1 } }],
  ['blur', { describe: "plus a Gaussian blur every k steps with Yosinski et al.'s pixel clipping", param: 'pixel', preset: { blurEvery: 4, blurSigma: 1.0, clipNormPercentile: 10, clipContributionPercentile: 10 } }],
  ['bilateral', { describe: 'plus a bilateral filter every k steps', param: 'pixel', preset: { bilateralEvery: 2, bilateralSigmaSpatial: 1.0, bilateralSigmaRange: 0.6 } }],
  ['robust', { describe: 'random pad, jitter, scale and rotation each step', param: 'pixel', preset: { robust: LUCID_ROBUST } }],
  ['fourier', { describe: "Lucid's decorrelated Fourier parameterization, plus robust", param: 'pixel', preset: { param: 'fourier', decorrelate: true, robust: LUCID_ROBUST } }],
  ['maco', { describe: "Fel et al.'s MaCo: only the Fourier phase, the magnitude a dataset's average spectrum; random crops and noise, NAdam", param: 'pixel', dataset: true, preset: MACO }],
]);

/** The pieces of a method preset: each row turns options into a penalty or a filter (or nothing). */
export interface PieceRow {
  name: string;
  penalty?: (o: PixelOptions) => Penalty | undefined;
  filter?: (o: PixelOptions) => Filter | undefined;
}

export const PIECES: PieceRow[] = [
  { name: 'l2', penalty: (o) => (o.l2 ? l2(o.l2) : undefined) },
  { name: 'tv', penalty: (o) => (o.tv ? tv(o.tv) : undefined) },
  { name: 'blur', filter: (o) => (o.blurEvery ? blur({ every: o.blurEvery, sigma: o.blurSigma, clipNormPercentile: o.clipNormPercentile, clipContributionPercentile: o.clipContributionPercentile }) : undefined) },
  { name: 'bilateral', filter: (o) => (o.bilateralEvery ? bilateral({ every: o.bilateralEvery, sigmaSpatial: o.bilateralSigmaSpatial, sigmaRange: o.bilateralSigmaRange }) : undefined) },
];

/** The penalties and filters `o` switches on, in table order. */
export function piecesFor(o: PixelOptions): { penalties: Penalty[]; filters: Filter[] } {
  const penalties: Penalty[] = [];
  const filters: Filter[] = [];
  for (const row of PIECES) {
    const p = row.penalty?.(o);
    if (p) penalties.push(p);
    const f = row.filter?.(o);
    if (f) filters.push(f);
  }
  return { penalties, filters };
}

function checkNew(name: string, what: string): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new FvizError(`${what} name '${name}': use lower-case letters, digits and '-'`);
  if (PIECES.some((r) => r.name === name)) throw new FvizError(`${what} '${name}' exists already; choose another name`);
}

/** A penalty switched on by `options.penalties[name] = weight` (weight relative to the objective's pull). */
export function registerPenalty(name: string, make: (weight: number) => Penalty): void {
  checkNew(name, 'penalty');
  PIECES.push({ name, penalty: (o) => (o.penalties?.[name] ? make(o.penalties[name]) : undefined) });
}

/** A filter switched on by `options.filterEvery[name] = k` (runs every k steps on pixel parameterizations). */
export function registerFilter(name: string, make: (every: number) => Filter): void {
  checkNew(name, 'filter');
  PIECES.push({ name, filter: (o) => (o.filterEvery?.[name] ? make(o.filterEvery[name]) : undefined) });
}

/** A new pixel-space method: a name for a set of pieces. */
export function registerMethod(name: string, row: { describe?: string; preset: Partial<PixelOptions> }): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new FvizError(`method name '${name}': use lower-case letters, digits and '-'`);
  if (METHODS.has(name)) throw new FvizError(`method '${name}' exists already; choose another name`);
  METHODS.set(name, { describe: row.describe ?? name, param: 'pixel', preset: row.preset });
}

/** The pieces a pixel method switches on. */
export function methodPreset(method: MethodName): Partial<PixelOptions> {
  const row = METHODS.get(method);
  if (!row) throw new FvizError(`unknown method '${method}': choose one of ${[...METHODS.keys()].join(', ')}`);
  if (row.param !== 'pixel') throw new FvizError(`method '${method}' optimizes a generator's code, not pixels: use visualizeDgn`);
  return row.preset;
}
