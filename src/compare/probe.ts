// Forward-only measurements on finished images: the target unit's activation under the classifier that
// was optimized, and the top-1 class of an independent classifier (the judge).
import { FvizError } from '../errors.ts';
import { DISPLAY_INPUT, withDisplayInput, type Classifier } from '../classifier/card.ts';
import { appendObjective, findPreSoftmax, OBJECTIVE_PER_ITEM } from '../optvis/objectives/build.ts';
import { formatTarget, parseObjective } from '../optvis/objectives/parse.ts';
import { prepareModel } from '../onnx/prepare.ts';
import { preparedOnce } from '../onnx/prepare-memo.ts';
import { readModel } from '../onnx/proto.ts';
import type { Model } from '../onnx/ir.ts';
import { toNumbers } from '../onnx/tensor.ts';
import type { Nchw } from '../image/nchw.ts';
import { Session, type SessionOptions } from '../runtime/session.ts';
import { readImage } from '../render/image.ts';

/** The first term of an objective, unweighted: the unit the objective is about. */
export function targetUnit(objective: string): string {
  const ast = parseObjective(objective);
  return formatTarget(ast.terms[0]!.target);
}

function displayModel(c: Classifier): Model {
  const prepared = preparedOnce(c.modelPath, ['probe', c.card.input.size], () => prepareModel(readModel(c.modelPath), { batch: 1, size: c.card.input.size, source: c.modelPath }));
  return withDisplayInput(prepared, c.card.input);
}

function checkSize(img: Nchw, size: [number, number], who: string): void {
  if (img.dims[0] !== 1 || img.dims[2] !== size[0] || img.dims[3] !== size[1])
    throw new FvizError(`internal: ${who} takes 1x3x${size.join('x')} images, got ${img.dims.join('x')}`);
}

/** The target unit of one objective, evaluated on display images (1 x 3 x H x W in [0, 1]). */
export class UnitProbe {
  private constructor(
    private readonly session: Session,
    readonly unit: string,
    /** Display label of the unit, e.g. 'class:3 (cat)'. */
    readonly label: string,
    private readonly size: [number, number],
  ) {}

  static async create(classifier: Classifier, objective: string, opts: SessionOptions = {}): Promise<UnitProbe> {
    const unit = targetUnit(objective);
    const obj = appendObjective(displayModel(classifier), unit, {
      labels: classifier.labels,
      preSoftmax: classifier.card.preSoftmax,
      aliases: classifier.card.aliases,
    });
    const g = obj.model.graph;
    g.outputs = [{ name: OBJECTIVE_PER_ITEM, dtype: g.valueTypes.get(OBJECTIVE_PER_ITEM)!.dtype, shape: [1] }];
    const session = await Session.create(obj.model, { ...opts, source: `${classifier.card.name} (${unit})` });
    return new UnitProbe(session, unit, obj.terms[0]!.label, classifier.card.input.size);
  }

  async activation(img: Nchw): Promise<number> {
    checkSize(img, this.size, 'the classifier');
    const out = await this.session.run({ [DISPLAY_INPUT]: img });
    return toNumbers(out[OBJECTIVE_PER_ITEM]!)[0]!;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

export interface JudgeVerdict {
  /** Top-1 class index. */
  class: number;
  /** Its label (the index as text when the judge has no labels). */
  label: string;
  /** Softmax probability of the top-1 class. */
  probability: number;
}

/** Softmax in float64; the top entry. */
export function topSoftmax(logits: ArrayLike<number>): { index: number; probability: number } {
  let max = -Infinity;
  let index = 0;
  for (let k = 0; k < logits.length; k++)
    if (logits[k]! > max) {
      max = logits[k]!;
      index = k;
    }
  let sum = 0;
  for (let k = 0; k < logits.length; k++) sum += Math.exp(logits[k]! - max);
  return { index, probability: 1 / sum };
}

export function shortLabel(label: string): string {
  return label.replace(/^n\d{8}\s+/, '').split(',')[0]!.trim();
}

/** The judge's verdict on one image and its penultimate features (for diversity), when it has them. */
export interface JudgedImage {
  verdict: JudgeVerdict;
  features?: Float32Array;
}

/**
 * The judge's feature layer: its card's code layer, else the input of the fully connected node that makes the
 * logits (its penultimate features).
 */
function featureLayer(m: Model, logits: string, codeLayer: string | undefined): string | undefined {
  const g = m.graph;
  if (codeLayer && g.valueTypes.has(codeLayer)) return codeLayer;
  const node = g.nodes.find((n) => n.outputs.includes(logits));
  if (node && (node.opType === 'Gemm' || node.opType === 'MatMul')) return node.inputs[0];
  return undefined;
}

/** An independent classifier: softmax of its logits on an image resized to its input, and its features. */
export class Judge {
  private constructor(
    private readonly session: Session,
    private readonly logits: string,
    private readonly features: string | undefined,
    readonly classifier: Classifier,
  ) {}

  get size(): [number, number] {
    return this.classifier.card.input.size;
  }

  /** Whether the judge gives features (and so diversity can be measured). */
  get hasFeatures(): boolean {
    return this.features !== undefined;
  }

  static async create(classifier: Classifier, opts: SessionOptions = {}): Promise<Judge> {
    const m = displayModel(classifier);
    const g = m.graph;
    const single = g.outputs.length === 1 && g.valueTypes.get(g.outputs[0]!.name)?.shape.length === 2 ? g.outputs[0]!.name : undefined;
    const logits = classifier.card.preSoftmax && g.valueTypes.has(classifier.card.preSoftmax) ? classifier.card.preSoftmax : (findPreSoftmax(g) ?? single);
    if (!logits) throw new FvizError(`judge '${classifier.modelPath}': no Softmax and no single N x K output, so no logits to judge with (name them in its card's preSoftmax)`);
    const features = featureLayer(m, logits, classifier.card.codeLayer);
    g.outputs = [logits, ...(features ? [features] : [])].map((name) => {
      const vt = g.valueTypes.get(name)!;
      return { name, dtype: vt.dtype, shape: [...vt.shape] };
    });
    const session = await Session.create(m, { ...opts, source: `judge ${classifier.card.name}` });
    return new Judge(session, logits, features, classifier);
  }

  async judge(img: Nchw): Promise<JudgeVerdict> {
    return (await this.judgeWithFeatures(img)).verdict;
  }

  /** An image file, stretched to the judge's input. */
  async judgeFile(file: string): Promise<JudgedImage> {
    return this.judgeWithFeatures(await readImage(file, { size: this.size, fit: 'stretch' }));
  }

  async judgeWithFeatures(img: Nchw): Promise<JudgedImage> {
    checkSize(img, this.size, 'the judge');
    const out = await this.session.run({ [DISPLAY_INPUT]: img });
    const { index, probability } = topSoftmax(toNumbers(out[this.logits]!));
    const name = this.classifier.labels?.[index];
    const verdict = { class: index, label: name ? shortLabel(name) : String(index), probability };
    return this.features ? { verdict, features: Float32Array.from(toNumbers(out[this.features]!)) } : { verdict };
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
