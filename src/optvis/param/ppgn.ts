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
import { ObjectiveGradient } from '../objectives/gradient.ts';
import { resolveTensor } from '../objectives/build.ts';
import { appendBridge, DGN_IMAGE, type DgnProgramOptions } from './generator.ts';
import { fusedPpgnProgram, type PpgnCodeProgram, type PpgnEval } from './ppgn-step.ts';
import type { BuiltProgram } from '../../runtime/cached-session.ts';
import type { SessionOptions } from '../../runtime/session.ts';

/** The log-probabilities appended to the classifier: `class:K` means log p(K | x) under PPGN. */
export const PPGN_LOG_PROB = 'ppgn_log_prob';

export { NGUYEN_PPGN, ppgnCode, ppgnDirection, ppgnUpdate, fusedPpgnProgram, type PpgnCodeProgram, type PpgnEval, type PpgnSettings } from './ppgn-step.ts';

export interface PpgnProgramOptions extends DgnProgramOptions {
  /** The classifier tensor the generator inverts (the encoder's layer, e.g. fc6). */
  codeLayer: string;
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
export class PpgnProgram implements PpgnCodeProgram {
  /** The compiled bytes and their ProgramMeta (with codeInput, codeShape and codeTensor): what the live page loads; absent for a cached program. */
  entry?: BuiltProgram;
  private readonly fused: PpgnCodeProgram;

  private constructor(
    private readonly prog: ObjectiveGradient,
    readonly codeInput: string,
    readonly codeShape: number[],
    private readonly codeTensor: string,
    readonly labels: string[],
  ) {
    this.fused = fusedPpgnProgram(prog, codeInput, codeShape, codeTensor);
    const entry = prog.compiledEntry();
    if (entry) this.entry = { bytes: entry.bytes, meta: { ...entry.meta, codeInput, codeShape, codeTensor } };
  }

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

  run(code: Float32Array): Promise<PpgnEval> {
    return this.fused.run(code);
  }

  release(): Promise<void> {
    return this.prog.release();
  }
}
