// PPGN-h (Nguyen et al. 2017, Plug & Play Generative Networks): the code h of a generator G is sampled
// with h <- h + e1 (R(h) - h) + e2 d log p(y | G(h)) / dh + N(0, e3^2), clipped to the code's bounds.
// R(h) = E(G(h)) with E the classifier up to the layer G inverts, so no extra network is trained: one
// compiled program runs generator -> bridge -> classifier and gives log p(y | x) (a LogSoftmax appended
// to the logits), its gradient with respect to h, the image and E's code (R(h)) together.
import { FvizError } from '../../errors.ts';
import type { Model } from '../../onnx/ir.ts';
import { cloneModel } from '../../onnx/ir.ts';
import { composeModels } from '../../onnx/compose.ts';
import { DISPLAY_INPUT, withDisplayInput } from '../../classifier/card.ts';
import { findPreSoftmax, singleLogitsOutput } from '../../classifier/logits.ts';
import { Rng } from '../../util/rng.ts';
import { asNchw, type Nchw } from '../../image/nchw.ts';
import { ObjectiveGradient } from '../objectives/gradient.ts';
import { resolveTensor } from '../objectives/build.ts';
import { appendBridge, clipInPlace, DGN_IMAGE, type DgnProgramOptions } from './generator.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import type { FusedParam } from './param.ts';

/** The log-probabilities appended to the classifier: `class:K` means log p(K | x) under PPGN. */
export const PPGN_LOG_PROB = 'ppgn_log_prob';

/** The sampler's settings (sampler.py and the class-conditional script of Evolving-AI-Lab/ppgn). */
export interface PpgnSettings {
  steps: number;
  /** Step size at the first and the last step (linear in between). */
  lr: number;
  lrEnd: number;
  /** Multipliers of the prior term R(h) - h, the condition term and the noise std. */
  eps1: number;
  eps2: number;
  eps3: number;
  /** Noise std the schedule falls to, linearly from eps3 as lr to lrEnd (absent: eps3 throughout). A chain that explores with noise
   * early and settles without it ends near a mode it found on its own. */
  eps3End?: number;
  /** sampler.py divides the combined update by its mean |.| per item (step / mean|d| * d); false: the plain formula. */
  normalize: boolean;
}

/** 1_class_conditional_sampling.sh: 200 iterations, lr 1 -> 1, eps1 1e-5, eps2 1, eps3 1e-17, normalized step. */
export const NGUYEN_PPGN: PpgnSettings = { steps: 200, lr: 1, lrEnd: 1, eps1: 1e-5, eps2: 1, eps3: 1e-17, normalize: true };

export interface PpgnProgramOptions extends DgnProgramOptions {
  /** The classifier tensor the generator inverts (the encoder's layer, e.g. fc6). */
  codeLayer: string;
}

export interface PpgnEval {
  /** Objective per item (log p(y | x) for class objectives). */
  perItem: number[];
  /** d objective / d h, [N, code]. */
  grad: Float32Array;
  /** R(h) = E(G(h)), [N, code]. */
  recon: Float32Array;
  image: Nchw;
}

/** The classifier with a LogSoftmax on its logits, named PPGN_LOG_PROB. */
function withLogProb(cls: Model, preSoftmax: string | undefined, aliases: Record<string, string>): Model {
  const m = cloneModel(cls);
  const g = m.graph;
  const logits = preSoftmax ? resolveTensor(g, preSoftmax, aliases) : (findPreSoftmax(g) ?? singleLogitsOutput(g));
  if (!logits) throw new FvizError('PPGN needs the classifier\'s logits: name them with preSoftmax in the classifier card');
  const t = g.valueTypes.get(logits)!;
  g.nodes.push({ name: 'ppgn_log_softmax', opType: 'LogSoftmax', domain: '', inputs: [logits], outputs: [PPGN_LOG_PROB], attrs: { axis: { i: 1 } } });
  g.valueTypes.set(PPGN_LOG_PROB, { dtype: t.dtype, shape: [...t.shape] });
  g.outputs.push({ name: PPGN_LOG_PROB, dtype: t.dtype, shape: [...t.shape] });
  return m;
}

/** Generator -> bridge -> classifier (+ log softmax) compiled once: objective, d objective / dh, image and E(G(h)). */
export class PpgnProgram {
  private constructor(
    private readonly prog: ObjectiveGradient,
    readonly codeInput: string,
    readonly codeShape: number[],
    private readonly codeTensor: string,
    readonly labels: string[],
  ) {}

  /** Generator -> bridge -> classifier (+ log softmax) as one model; the code tensor it exposes. */
  private static compose(opts: Omit<PpgnProgramOptions, 'objective'>): { whole: Model; codeIn: string; codeTensor: string } {
    const gen = opts.generator;
    if (gen.graph.inputs.length !== 1) throw new FvizError(`the generator has ${gen.graph.inputs.length} inputs; it must take one code`);
    const codeIn = gen.graph.inputs[0]!;
    const codeShape = codeIn.shape as number[];
    const aliases = opts.classifierCard.aliases ?? {};
    const bridged = appendBridge(gen, opts.generatorCard.output, opts.classifierCard.input.size, opts.generatorCard.toClassifier);
    const cls = withLogProb(withDisplayInput(opts.classifier, opts.classifierCard.input), opts.names?.preSoftmax ?? opts.classifierCard.preSoftmax, aliases);
    const codeTensor = resolveTensor(cls.graph, opts.codeLayer, aliases);
    const shape = cls.graph.valueTypes.get(codeTensor)!.shape;
    const size = (shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
    if (size !== codeShape[codeShape.length - 1])
      throw new FvizError(`PPGN: the classifier's '${opts.codeLayer}' has ${size} values per image but the generator's code has ${codeShape.at(-1)}: give the layer the generator inverts (its card's encoder)`);
    return { whole: composeModels(bridged, cls, { from: DGN_IMAGE, to: DISPLAY_INPUT }), codeIn: codeIn.name, codeTensor };
  }

  static async create(opts: PpgnProgramOptions): Promise<PpgnProgram> {
    return PpgnProgram.load(undefined, '', opts, () => opts, opts);
  }

  /**
   * Through the program cache under `key` (undefined: compiled every time): `models()` is called only when the
   * program is not stored, so a hit prepares neither model.
   */
  static async load(
    key: string | undefined,
    label: string,
    objective: Pick<PpgnProgramOptions, 'objective' | 'names'>,
    models: () => Omit<PpgnProgramOptions, 'objective' | 'names' | 'mode' | keyof SessionOptions>,
    opts: SessionOptions = {},
  ): Promise<PpgnProgram> {
    const prog = await ObjectiveGradient.load(
      () => {
        const c = PpgnProgram.compose({ ...models(), names: objective.names });
        if (c.whole.graph.inputs[0]?.name !== c.codeIn) throw new FvizError(`the composed PPGN program's first input is not the code '${c.codeIn}'`);
        return { model: c.whole, extraOutputs: [c.codeTensor], extra: { codeTensor: c.codeTensor } };
      },
      {
        ...opts,
        objective: objective.objective,
        names: { ...objective.names, preSoftmax: PPGN_LOG_PROB },
        extraOutputs: [DISPLAY_INPUT],
        cacheKey: key,
        cacheLabel: label,
      },
    );
    const code = prog.inputs.find((i) => i.name === prog.wrt[0])!;
    return new PpgnProgram(prog, code.name, code.shape as number[], prog.extra['codeTensor'] as string, prog.terms.map((t) => t.label));
  }

  async run(code: Float32Array): Promise<PpgnEval> {
    const r = await this.prog.run({ [this.codeInput]: { dtype: 'float32', dims: this.codeShape, data: code } });
    return {
      perItem: r.perItem,
      grad: r.grads.get(this.codeInput)!.data as Float32Array,
      recon: Float32Array.from(r.outputs[this.codeTensor]!.data as Float32Array),
      image: asNchw(r.outputs[DISPLAY_INPUT]!, 'generated image'),
    };
  }

  release(): Promise<void> {
    return this.prog.release();
  }
}

/** The sampler's direction before noise: e1 (R(h) - h) + e2 g, in float64 per value. */
export function ppgnDirection(h: Float32Array, recon: Float32Array, grad: Float32Array, s: Pick<PpgnSettings, 'eps1' | 'eps2'>): Float64Array {
  const d = new Float64Array(h.length);
  for (let k = 0; k < h.length; k++) d[k] = s.eps1 * (recon[k]! - h[k]!) + s.eps2 * grad[k]!;
  return d;
}

/**
 * One PPGN-h update of h in place from its direction d (ppgnDirection): d += N(0, e3^2) drawn from `rng`,
 * h += step * d (or step / mean|d| * d per item when normalizing, as sampler.py), then clip to the bounds.
 */
export function ppgnUpdate(h: Float32Array, d: Float64Array, s: Pick<PpgnSettings, 'eps3' | 'normalize'>, step: number, unit: number, rng: Rng, lower?: Float32Array, upper?: Float32Array): void {
  if (s.eps3 > 0) for (let k = 0; k < d.length; k++) d[k]! += s.eps3 * rng.normal();
  for (let item = 0; item * unit < h.length; item++) {
    let scale = step;
    if (s.normalize) {
      let sum = 0;
      for (let k = item * unit; k < (item + 1) * unit; k++) sum += Math.abs(d[k]!);
      if (!(sum > 0)) continue;
      scale = step / (sum / unit);
    }
    for (let k = item * unit; k < (item + 1) * unit; k++) h[k] = h[k]! + scale * d[k]!;
  }
  clipInPlace(h, lower, upper, unit);
}

/** The code as a fused parameterization whose "gradient" is the sampler's direction (prior + condition). */
export function ppgnCode(program: PpgnProgram, code: Float32Array, s: Pick<PpgnSettings, 'eps1' | 'eps2'>, onEval?: (e: PpgnEval) => void): FusedParam {
  return {
    values: code,
    itemSize: program.codeShape[program.codeShape.length - 1]!,
    async evaluate() {
      const e = await program.run(code);
      onEval?.(e);
      return { perItem: e.perItem, grad: Float32Array.from(ppgnDirection(code, e.recon, e.grad, s)), image: e.image };
    },
  };
}
