// DGN-AM (Nguyen et al. 2016): activation maximization in the code space of a deep generator network.
//
// Each step, act_max.py generates x0 = G(code), takes the gradient g of the unit w.r.t. the cropped
// image, forms x = x0 + step / mean|g| * g, backpropagates (x - x0) through G to get d, and moves the code
// by step / mean|d| * d; then clips to the bounds and multiplies by the L2 factor. Since x - x0 is g times
// a scalar and the code step is normalized again, the update equals step * D / mean|D| with D the plain
// chain-rule gradient d objective / d code: so one compiled program (generator -> crop -> classifier)
// gives everything a step needs. A test checks this against the literal two-stage update.
import { FvizError } from '../../errors.ts';
import { GraphBuilder } from '../../onnx/builder.ts';
import type { Model, TensorData } from '../../onnx/ir.ts';
import { cloneModel } from '../../onnx/ir.ts';
import { composeModels } from '../../onnx/compose.ts';
import { tensor } from '../../onnx/tensor.ts';
import { DISPLAY_INPUT, withDisplayInput, type Classifier } from '../../classifier/card.ts';
import type { Generator, OutputConvention } from '../../generator/card.ts';
import { ObjectiveGradient, Vjp } from '../objectives/gradient.ts';
import type { ObjectiveInput, ObjectiveNames } from '../objectives/build.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import type { BuiltProgram } from '../../runtime/cached-session.ts';
import { fusedCodeProgram, type CodeProgram, type DgnEval } from './code.ts';

export const DGN_IMAGE = 'dgn_image';

/**
 * Append to a prepared generator the map from its output to the classifier's display input:
 * undo the output convention (to RGB in [0,1]), then center-crop or resize to `size`.
 */
export function appendBridge(generator: Model, out: OutputConvention, size: [number, number], how: 'center-crop' | 'resize'): Model {
  const m = cloneModel(generator);
  const g = m.graph;
  const o = g.outputs[0]!;
  const shape = g.valueTypes.get(o.name)!.shape as number[];
  if (shape.length !== 4 || shape[1] !== 3) throw new FvizError(`generator output '${o.name}' has shape [${shape}]; it must be N x 3 x H x W`);
  const [n, , h, w] = shape as [number, number, number, number];
  const [H, W] = size;
  const dtype = o.dtype;
  const b = new GraphBuilder(g);
  const set = (name: string, s: number[]) => g.valueTypes.set(name, { dtype, shape: s });
  const [lo, hi] = out.range;
  // display = (y * std + mean - lo) / (hi - lo), per channel in the output's order.
  const scale = out.std.map((s) => s / (hi - lo));
  const offset = out.mean.map((mu) => (mu - lo) / (hi - lo));
  let x = b.op('Mul', [o.name, b.constant(tensor(dtype, [1, 3, 1, 1], scale), 'bridge_scale')], {}, 'bridge');
  set(x, shape);
  x = b.op('Add', [x, b.constant(tensor(dtype, [1, 3, 1, 1], offset), 'bridge_offset')], {}, 'bridge');
  set(x, shape);
  if (out.channels === 'BGR') {
    x = b.op('Gather', [x, b.constant(tensor('int64', [3], [2, 1, 0]), 'bridge_rgb')], { axis: { i: 1 } }, 'bridge_rgb');
    set(x, shape);
  }
  if (h !== H || w !== W) {
    if (how === 'center-crop') {
      if (h < H || w < W)
        throw new FvizError(`the generator makes ${h}x${w} images, smaller than the classifier's ${H}x${W} input: use toClassifier 'resize' in the generator card (or --to-classifier resize)`);
      const top = Math.floor((h - H) / 2);
      const left = Math.floor((w - W) / 2);
      x = b.op('Slice', [x, b.constant(tensor('int64', [2], [top, left])), b.constant(tensor('int64', [2], [top + H, left + W])), b.constant(tensor('int64', [2], [2, 3]))], {}, 'bridge_crop');
    } else {
      x = b.op('Resize', [x, '', '', b.constant(tensor('int64', [4], [n, 3, H, W]))], { mode: { s: 'linear' }, coordinate_transformation_mode: { s: 'half_pixel' } }, 'bridge_resize');
    }
    set(x, [n, 3, H, W]);
  }
  g.nodes.push({ name: 'bridge_out', opType: 'Identity', domain: '', inputs: [x], outputs: [DGN_IMAGE], attrs: {} });
  set(DGN_IMAGE, [n, 3, H, W]);
  g.outputs = [{ name: DGN_IMAGE, dtype, shape: [n, 3, H, W] }];
  return m;
}

export interface DgnProgramOptions extends SessionOptions {
  /** Prepared generator (batch fixed) and prepared classifier (same batch). */
  generator: Model;
  classifier: Model;
  generatorCard: Generator['card'];
  classifierCard: Classifier['card'];
  objective: ObjectiveInput;
  names?: ObjectiveNames;
  /** 'fused': one program; 'chained': generator VJP and classifier gradient run separately. */
  mode?: 'fused' | 'chained';
  /** The objective's masks as inputs, so `retarget` can change the units without a compile (ObjectiveGradient.retarget). */
  masksAsInputs?: boolean;
}

export type { DgnEval, CodeProgram } from './code.ts';

/** Generator -> bridge -> classifier, compiled; evaluates the objective and its gradient w.r.t. the code. */
export class DgnProgram implements CodeProgram {
  readonly codeInput: string;
  readonly codeShape: number[];
  labels: string[];
  /**
   * The fused program's bytes and what running them needs, codeInput and codeShape included (the live page
   * loads them into onnxruntime-web). Set when this process compiled the fused program (`create`, or `load` on a
   * cache miss); undefined for the chained mode, a cache hit, or a program that lifted weights.
   */
  entry?: BuiltProgram;
  private constructor(
    private readonly impl: (code: TensorData) => Promise<DgnEval>,
    private readonly releaseAll: () => Promise<void>,
    private readonly objectiveProgram: ObjectiveGradient,
    codeInput: string,
    codeShape: number[],
    labels: string[],
  ) {
    this.codeInput = codeInput;
    this.codeShape = codeShape;
    this.labels = labels;
  }

  /** Generator -> bridge -> classifier as one model, checked; its first input is the code. */
  private static compose(opts: Omit<DgnProgramOptions, 'objective'>): { bridged: Model; cls: Model; whole: () => Model; codeIn: { name: string; shape: number[] } } {
    const gen = opts.generator;
    if (gen.graph.inputs.length !== 1) throw new FvizError(`the generator has ${gen.graph.inputs.length} inputs; it must take one code`);
    const codeIn = gen.graph.inputs[0]!;
    const size = opts.classifierCard.input.size;
    const bridged = appendBridge(gen, opts.generatorCard.output, size, opts.generatorCard.toClassifier);
    const cls = withDisplayInput(opts.classifier, opts.classifierCard.input);
    const clsIn = cls.graph.inputs[0]!.shape as number[];
    const imgShape = bridged.graph.outputs[0]!.shape as number[];
    if (clsIn[0] !== imgShape[0]) throw new FvizError(`generator batch ${imgShape[0]} and classifier batch ${clsIn[0]} differ`);
    return { bridged, cls, whole: () => composeModels(bridged, cls, { from: DGN_IMAGE, to: DISPLAY_INPUT }), codeIn: { name: codeIn.name, shape: codeIn.shape as number[] } };
  }

  static async create(opts: DgnProgramOptions): Promise<DgnProgram> {
    const { bridged, cls, whole, codeIn } = DgnProgram.compose(opts);
    if (opts.mode === 'chained') {
      const vjp = await Vjp.create(bridged, [DGN_IMAGE], [codeIn.name], opts);
      const head = await ObjectiveGradient.create(cls, { ...opts, objective: opts.objective, names: opts.names, wrt: [DISPLAY_INPUT] });
      const impl = async (code: TensorData): Promise<DgnEval> => {
        const f = await vjp.forward({ [codeIn.name]: code });
        const image = f.outputs[DGN_IMAGE]!;
        const r = await head.run({ [DISPLAY_INPUT]: image });
        const gc = await vjp.backward(f.state, { [DGN_IMAGE]: r.grads.get(DISPLAY_INPUT)! });
        return { perItem: r.perItem, grad: gc.get(codeIn.name)!.data as Float32Array, image };
      };
      return new DgnProgram(impl, async () => { await vjp.release(); await head.release(); }, head, codeIn.name, codeIn.shape, head.terms.map((t) => t.label));
    }
    const prog = await ObjectiveGradient.create(whole(), { ...opts, objective: opts.objective, names: opts.names, wrt: [codeIn.name], extraOutputs: [DISPLAY_INPUT] });
    return DgnProgram.fused(prog, codeIn.name, codeIn.shape);
  }

  /**
   * The fused program through the program cache (runtime/program-cache.ts): loaded when `key` is stored, else
   * composed from `models()` (called only then: a hit prepares neither model), compiled, stored and loaded.
   */
  static async load(
    key: string,
    label: string,
    objective: { objective: ObjectiveInput; names?: ObjectiveNames },
    models: () => Omit<DgnProgramOptions, keyof SessionOptions | 'objective' | 'names' | 'mode'>,
    opts: SessionOptions = {},
  ): Promise<DgnProgram> {
    const prog = await ObjectiveGradient.load(
      () => {
        const c = DgnProgram.compose(models());
        const m = c.whole();
        if (m.graph.inputs[0]?.name !== c.codeIn.name) throw new FvizError(`the composed DGN-AM program's first input is not the code '${c.codeIn.name}'`);
        return m;
      },
      { ...opts, ...objective, cacheKey: key, cacheLabel: label, extraOutputs: [DISPLAY_INPUT] },
    );
    const code = prog.inputs.find((i) => i.name === prog.wrt[0])!;
    return DgnProgram.fused(prog, code.name, code.shape as number[]);
  }

  private static fused(prog: ObjectiveGradient, codeInput: string, codeShape: number[]): DgnProgram {
    const code = fusedCodeProgram(prog, codeInput, codeShape);
    const program = new DgnProgram((c) => code.evaluate(c), () => prog.release(), prog, codeInput, codeShape, prog.terms.map((t) => t.label));
    const entry = prog.compiledEntry();
    if (entry) program.entry = { bytes: entry.bytes, meta: { ...entry.meta, codeInput, codeShape } };
    return program;
  }

  /** Another objective on the same tensors, without a compile (needs masksAsInputs); false when it cannot. */
  retarget(objective: ObjectiveInput): boolean {
    if (!this.objectiveProgram.retarget(objective)) return false;
    this.labels = this.objectiveProgram.terms.map((t) => t.label);
    return true;
  }

  run(code: Float32Array): Promise<DgnEval> {
    return this.impl({ dtype: 'float32', dims: this.codeShape, data: code });
  }

  release(): Promise<void> {
    return this.releaseAll();
  }
}

export { clipInPlace, initialCode, generatorCode, type CodeInit } from './code.ts';
