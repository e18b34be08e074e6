// The page's settings (its sliders) turned into the options of the same loops Node runs: DgnOptions for
// runDgnAm, PpgnOptions for runPpgn, PixelOptions for runPixel. Step size, code L2, noise and PPGN's eps1,
// eps2, eps3 are read by the loops at every step, so they are getters here and a slider moved during a run
// changes the steps after it; the other settings take effect at the next start. The page, the tests and the bench all build their options here.
import { FvizError } from '../errors.ts';
import type { Nchw } from '../image/nchw.ts';
import type { DgnOptions } from '../optvis/render/dgn.ts';
import type { PpgnOptions } from '../optvis/render/ppgn.ts';
import { NGUYEN_PPGN } from '../optvis/param/ppgn-step.ts';
import { pixelOptions, type PixelOptions } from '../optvis/render/pixel-run.ts';
import type { LiveInfo } from './protocol.ts';

export interface LiveSettings {
  method: string;
  objective: string;
  seed: number;
  steps: number;
  /** DGN-AM: the start step size (the card's schedule decays it); pixel methods: Adam's learning rate. */
  stepSize: number;
  /** DGN-AM: the factor on the code after each step (1: off). */
  codeL2: number;
  /** DGN-AM: std of the Langevin noise added to the code each step. */
  noise: number;
  /** Pixel methods: random jitter in pixels each step (0: off; the robust method's default when it is 0). */
  jitter: number;
  /** Pixel methods: L2 and total-variation penalty weights (relative to the objective's pull). */
  l2: number;
  tv: number;
  /** PPGN-h: weights of the prior term R(h) - h and of d log p(y|x) / dh, and the noise std. */
  eps1: number;
  eps2: number;
  eps3: number;
}

/** What the page starts with for a method: the card's DGN-AM settings, or the method's preset. */
export function defaultSettings(info: LiveInfo, method = info.methods[0] ?? 'naive', objective = info.examples[3] ?? info.examples[0] ?? ''): LiveSettings {
  const pp = info.ppgn ?? NGUYEN_PPGN;
  const eps = { eps1: pp.eps1, eps2: pp.eps2, eps3: pp.eps3 };
  if (method === 'dgn' && info.dgn) return { method, objective, seed: 0, steps: 20, stepSize: info.dgn.startStep, codeL2: info.dgn.l2, noise: 0, jitter: 0, l2: 0, tv: 0, ...eps };
  if (method === 'ppgn' && info.ppgn) return { method, objective, seed: 0, steps: 40, stepSize: pp.lr, codeL2: 1, noise: 0, jitter: 0, l2: 0, tv: 0, ...eps };
  const p = pixelOptions(method);
  return { method, objective, seed: 0, steps: 40, stepSize: p.lr, codeL2: 1, noise: 0, jitter: 0, l2: p.l2, tv: p.tv, ...eps };
}

/** DGN-AM's options over live settings (`get` is called at each step for the live ones). */
export function dgnOptionsFor(info: LiveInfo, get: () => LiveSettings, extra: Partial<Pick<DgnOptions, 'frames' | 'onStep' | 'warn' | 'init'>> = {}): DgnOptions {
  const s0 = get();
  const d = info.dgn;
  if (!d) throw new FvizError('this server has no generator: DGN-AM needs one (fviz serve --generator G)');
  return {
    steps: s0.steps,
    get startStep() {
      return get().stepSize;
    },
    endStep: d.endStep,
    get l2() {
      return get().codeL2;
    },
    get noise() {
      return get().noise;
    },
    optimizer: 'nguyen',
    init: 'random',
    seed: s0.seed,
    lower: d.lower ? Float32Array.from(d.lower) : undefined,
    upper: d.upper ? Float32Array.from(d.upper) : undefined,
    ...extra,
  };
}

/** PPGN-h's options over live settings: the step size (constant over the run), eps1, eps2 and eps3 are read at each step. */
export function ppgnOptionsFor(info: LiveInfo, get: () => LiveSettings, extra: Partial<Pick<PpgnOptions, 'frames' | 'onStep' | 'init'>> = {}): PpgnOptions {
  const s0 = get();
  const p = info.ppgn;
  if (!p) throw new FvizError('this server cannot run PPGN: it needs a generator and the classifier layer it inverts (fviz serve --generator G)');
  const d = info.dgn;
  return {
    steps: s0.steps,
    get lr() {
      return get().stepSize;
    },
    get lrEnd() {
      return get().stepSize;
    },
    get eps1() {
      return get().eps1;
    },
    get eps2() {
      return get().eps2;
    },
    get eps3() {
      return get().eps3;
    },
    get eps3End() {
      return get().eps3;
    },
    normalize: p.normalize,
    init: 'random',
    seed: s0.seed,
    lower: d?.lower ? Float32Array.from(d.lower) : undefined,
    upper: d?.upper ? Float32Array.from(d.upper) : undefined,
    ...extra,
  };
}

/** A pixel method's options over live settings; `initImage` starts from a dropped image; `magnitude` is MaCo's (GET /api/spectrum). */
export function pixelOptionsFor(get: () => LiveSettings, initImage?: Nchw, magnitude?: Float64Array): PixelOptions {
  const s0 = get();
  const o = pixelOptions(s0.method, { steps: s0.steps, seed: s0.seed, l2: s0.l2, tv: s0.tv, initImage, magnitude });
  const jitter = Math.round(s0.jitter);
  if (jitter > 0) o.robust = o.robust ? { ...o.robust, jitter } : { pad: 0, jitter, jitter2: 0, scales: [1], rotate: [0] };
  Object.defineProperty(o, 'lr', { get: () => get().stepSize, enumerable: true });
  return o;
}
