// What `fviz serve` and the live page say to each other (JSON over HTTP on loopback). Types and constants
// only: the page bundles this file.
import type { ProgramMeta } from '../optvis/objectives/program-run.ts';
import type { PpgnSettings } from '../optvis/param/ppgn-step.ts';

/** GET /api/info: the model pair the server was started with. */
export interface LiveInfo {
  model: string;
  generator: string | null;
  /** The classifier's display input size [H, W]. */
  size: [number, number];
  labels: string[];
  /** Objectives that name a unit, to offer in the page (classes, a few layers). */
  examples: string[];
  /** 'dgn' and 'ppgn' (with a generator) and the pixel methods the page runs. */
  methods: string[];
  /** The generator card's DGN-AM settings, its code bounds (per unit) and code size. */
  dgn: { steps: number; startStep: number; endStep: number; l2: number; codeSize: number; lower: number[] | null; upper: number[] | null; encoder: string | null } | null;
  /** The generator card's PPGN-h settings (over Nguyen's), when the server can run PPGN (a generator and the layer it inverts). */
  ppgn?: PpgnSettings | null;
  /** MaCo's magnitude source (fviz serve --dataset): the page runs 'maco' with its average spectrum from GET /api/spectrum. */
  spectrum?: string | null;
  /** The onnxruntime version the server runs and the page loads (the same). */
  ortVersion: string;
  /** Static build (an atlas folder): programs only for the objectives listed in `programs/index.json`. */
  static?: boolean;
}

/** The kinds of program the server compiles: DGN-AM's and PPGN-h's (generator -> classifier over a code), the pixel methods' (the classifier). */
export type ProgramKind = 'dgn' | 'ppgn' | 'pixel';

/** POST /api/program: compile (or reuse) the gradient program for a method and objective. */
export interface ProgramRequest {
  method: ProgramKind;
  objective: string;
}

/** The compiled program: fetch its bytes from `url`; `meta` says what its outputs mean. */
export interface ProgramResponse {
  id: string;
  url: string;
  meta: ProgramMeta;
  /** Fused DGN programs: the code input's name and shape. */
  codeInput?: string;
  codeShape?: number[];
  /** PPGN programs: the output holding E(G(h)), the code through the classifier's encoder. */
  codeTensor?: string;
  /** What the objective's terms resolved to (e.g. "class 3 (cat)"). */
  terms: string[];
  bytes: number;
  compileMs: number;
}

/** POST /api/encode: a dropped image's code (the layer the generator inverts), for DGN-AM from it. */
export interface EncodeRequest {
  /** 1 x 3 x H x W RGB in [0, 1] at the classifier's input size, row-major. */
  image: number[];
}

export interface EncodeResponse {
  code: number[];
  encoder: string;
}

/** GET /api/spectrum: the dataset's average Fourier magnitude at the classifier's size, [3, H, W] in fft2 order (MaCo's fixed magnitude). */
export interface SpectrumResponse {
  dataset: string;
  magnitude: number[];
}

/** Any failed request: one line naming the thing and the fix. */
export interface ErrorResponse {
  error: string;
}

/** The pixel methods the page runs, all on the classifier's program (the Fourier parameterization runs in the page, in float64; MaCo, in float64 too, is offered when the server has a dataset's spectrum). */
export const LIVE_PIXEL_METHODS = ['naive', 'l2', 'tv', 'blur', 'bilateral', 'robust', 'fourier'] as const;
