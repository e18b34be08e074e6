// The page's settings (its sliders) turned into the options of the same loops Node runs: DgnOptions for
// runDgnAm, PixelOptions for runPixel. Step size, code L2 and noise are read by the loops at every step,
// so they are getters here and a slider moved during a run changes the steps after it; the other settings
// take effect at the next start. The page, the tests and the bench all build their options here.
import { FvizError } from '../errors.ts';
import type { Nchw } from '../image/nchw.ts';
import type { DgnOptions } from '../optvis/render/dgn.ts';
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
}

/** What the page starts with for a method: the card's DGN-AM settings, or the method's preset. */
export function defaultSettings(info: LiveInfo, method = info.methods[0] ?? 'naive', objective = info.examples[3] ?? info.examples[0] ?? ''): LiveSettings {
  if (method === 'dgn' && info.dgn) return { method, objective, seed: 0, steps: 20, stepSize: info.dgn.startStep, codeL2: info.dgn.l2, noise: 0, jitter: 0, l2: 0, tv: 0 };
  const p = pixelOptions(method);
  return { method, objective, seed: 0, steps: 40, stepSize: p.lr, codeL2: 1, noise: 0, jitter: 0, l2: p.l2, tv: p.tv };
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

/** A pixel method's options over live settings; `initImage` starts from a dropped image. */
export function pixelOptionsFor(get: () => LiveSettings, initImage?: Nchw): PixelOptions {
  const s0 = get();
  const o = pixelOptions(s0.method, { steps: s0.steps, seed: s0.seed, l2: s0.l2, tv: s0.tv, initImage });
  const jitter = Math.round(s0.jitter);
  if (jitter > 0) o.robust = o.robust ? { ...o.robust, jitter } : { pad: 0, jitter, jitter2: 0, scales: [1], rotate: [0] };
  Object.defineProperty(o, 'lr', { get: () => get().stepSize, enumerable: true });
  return o;
}
