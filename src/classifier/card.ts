// A classifier = an ONNX model + its card: the input convention, labels, layer aliases, the logits tensor.
// Every optimization works on a display image (N x 3 x H x W, RGB in [0,1]); `withDisplayInput` prepends
// the card's preprocessing to the graph so gradients come out with respect to that image directly.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FvizError } from '../errors.ts';
import { GraphBuilder } from '../onnx/builder.ts';
import type { Model } from '../onnx/ir.ts';
import { cloneModel } from '../onnx/ir.ts';
import { tensor } from '../onnx/tensor.ts';
import { readModel } from '../onnx/proto.ts';
import { dynamicSizeError, imageInput, layoutOf, staticSize } from '../onnx/specialize.ts';

export interface InputConvention {
  /** Channel order the network expects. */
  channels: 'RGB' | 'BGR';
  /** Value range the pixels are scaled to before mean/std, e.g. [0, 255] for Caffe, [0, 1] for torchvision. */
  range: [number, number];
  /** Per-channel mean subtracted after scaling, in the network's channel order. */
  mean: [number, number, number];
  /** Per-channel std divided after the mean. */
  std: [number, number, number];
  /** Input height and width. */
  size: [number, number];
  /** Layout of the model's input: NCHW (default) or NHWC (channels last, as TensorFlow.js models take it). */
  layout?: 'NCHW' | 'NHWC';
}

export interface ClassifierCard {
  name: string;
  /** The .onnx file, relative to the card. */
  model: string;
  input: InputConvention;
  /** Class labels in index order, or a file of one label per line (relative to the card). */
  labels?: string[] | string;
  /** The pre-softmax tensor for class: objectives. */
  preSoftmax?: string;
  /** Friendly layer names -> tensor names. */
  aliases?: Record<string, string>;
  /** The code layer a generator inverts (for the embedded pair: the fc6-like layer). */
  codeLayer?: string;
  /** Anything else worth recording (accuracy, training command, ...). */
  [key: string]: unknown;
}

export const DEFAULT_INPUT: InputConvention = {
  channels: 'RGB',
  range: [0, 1],
  mean: [0, 0, 0],
  std: [1, 1, 1],
  size: [224, 224],
};

export interface Classifier {
  card: ClassifierCard;
  /** Absolute path of the .onnx file. */
  modelPath: string;
  labels?: string[];
}

/** Card file for a model path: `<model>.card.json`, else `card.json` in the same folder. */
export function cardPathFor(modelPath: string): string | undefined {
  const stem = modelPath.replace(/\.onnx$/, '');
  for (const p of [`${stem}.card.json`, join(dirname(modelPath), 'card.json')]) if (existsSync(p)) return p;
  return undefined;
}

export function readCard(path: string): ClassifierCard {
  let card: ClassifierCard;
  try {
    card = JSON.parse(readFileSync(path, 'utf8')) as ClassifierCard;
  } catch (e) {
    throw new FvizError(`model card '${path}' is not valid JSON: ${(e as Error).message}`, { subject: path });
  }
  return card;
}

function readLabels(card: ClassifierCard, cardDir: string): string[] | undefined {
  if (Array.isArray(card.labels)) return card.labels;
  if (typeof card.labels === 'string') {
    const p = resolve(cardDir, card.labels);
    if (!existsSync(p)) throw new FvizError(`labels file '${p}' named by the model card does not exist`, { subject: p });
    return readFileSync(p, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  }
  return undefined;
}

/**
 * The input size of a model whose card gives none: its image input's static height and width, else
 * `--size`; a dynamic size without `--size` is one line asking for it.
 */
function sizeFromModel(modelPath: string, given: [number, number] | undefined, shown: string, hasCard: boolean): [number, number] {
  const info = imageInput(readModel(modelPath));
  if (!info) return given ?? DEFAULT_INPUT.size;
  const fixed = staticSize(info);
  if (fixed) return fixed; // a different --size is refused with both sizes when the model is prepared
  if (given) return given;
  throw dynamicSizeError(shown, info, hasCard ? 'and its card gives no size' : 'and no card');
}

/** A classifier from a model path; the card beside it if any, else `builtinCard` over the defaults; then the input overrides. */
export function openClassifier(modelPath: string, overrides: Partial<InputConvention> = {}, builtinCard?: Partial<ClassifierCard>): Classifier {
  const abs = resolve(modelPath);
  if (!existsSync(abs)) throw new FvizError(`model file '${modelPath}' does not exist`, { subject: modelPath });
  const cardPath = cardPathFor(abs);
  const card: ClassifierCard = cardPath
    ? readCard(cardPath)
    : { name: basename(abs, '.onnx'), model: basename(abs), input: { ...DEFAULT_INPUT }, ...builtinCard };
  // Without a card that gives a size, the model's own input decides it.
  const cardSize = cardPath ? card.input?.size : builtinCard?.input?.size;
  if (!cardSize) card.input = { ...DEFAULT_INPUT, ...card.input, size: sizeFromModel(abs, overrides.size, modelPath, !!cardPath) };
  card.input = { ...DEFAULT_INPUT, ...card.input, ...overrides };
  const labels = readLabels(card, cardPath ? dirname(cardPath) : dirname(abs));
  return { card, modelPath: abs, labels };
}

export { DISPLAY_INPUT } from './display-input.ts';
import { DISPLAY_INPUT } from './display-input.ts';

/** Rename a value everywhere in a graph (inputs, outputs, node edges, types). */
function renameValue(g: Model['graph'], from: string, to: string): void {
  for (const n of g.nodes) {
    n.inputs = n.inputs.map((i) => (i === from ? to : i));
    n.outputs = n.outputs.map((o) => (o === from ? to : o));
  }
  for (const v of [...g.inputs, ...g.outputs]) if (v.name === from) v.name = to;
  const t = g.valueTypes.get(from);
  if (t) {
    g.valueTypes.delete(from);
    g.valueTypes.set(to, t);
  }
}

/**
 * Prepend the preprocessing so the model takes a display image 'image' (N x 3 x H x W, RGB in [0,1]).
 * x_net[c] = (img[order[c]] * (hi - lo) + lo - mean[c]) / std[c]. `model` must have one 4-D input.
 */
export function withDisplayInput(model: Model, input: InputConvention): Model {
  const m = cloneModel(model);
  const g = m.graph;
  if (g.inputs.length !== 1) throw new FvizError(`classifier has ${g.inputs.length} inputs; fviz needs exactly one image input`);
  if (g.inputs[0]!.name === DISPLAY_INPUT) renameValue(g, DISPLAY_INPUT, `${DISPLAY_INPUT}__network_input`);
  const orig = g.inputs[0]!;
  // NHWC models (tfjs conversions say so in their card; tf2onnx's Keras exports are recognized by shape) get the
  // same N x 3 x H x W display image, transposed last.
  const layout = input.layout ?? (orig.shape.length === 4 ? layoutOf(orig.shape) : 'NCHW');
  if (orig.shape.length !== 4 || orig.shape[layout === 'NCHW' ? 1 : 3] !== 3)
    throw new FvizError(`classifier input '${orig.name}' has shape [${orig.shape}]; fviz needs ${layout === 'NHWC' ? 'N x H x W x 3 (NHWC)' : 'N x 3 x H x W (or N x H x W x 3)'}`);
  const shape = layout === 'NCHW' ? [...orig.shape] : [orig.shape[0]!, 3, orig.shape[1]!, orig.shape[2]!];
  const dtype = orig.dtype;
  const [lo, hi] = input.range;
  const scale = input.std.map((s) => (hi - lo) / s);
  const offset = input.mean.map((mu, c) => (lo - mu) / input.std[c]!);
  const b = new GraphBuilder(g);
  const before = g.nodes.length;
  g.inputs = [{ name: DISPLAY_INPUT, dtype, shape: [...shape] }];
  g.valueTypes.set(DISPLAY_INPUT, { dtype, shape: [...shape] });
  let x = DISPLAY_INPUT;
  if (input.channels === 'BGR') {
    x = b.op('Gather', [x, b.constant(tensor('int64', [3], [2, 1, 0]))], { axis: { i: 1 } }, 'to_bgr');
    g.valueTypes.set(x, { dtype, shape: [...shape] });
  }
  const sc = b.constant(tensor(dtype, [1, 3, 1, 1], scale), 'input_scale');
  const off = b.constant(tensor(dtype, [1, 3, 1, 1], offset), 'input_offset');
  const scaled = b.op('Mul', [x, sc], {}, 'preprocess');
  g.valueTypes.set(scaled, { dtype, shape: [...shape] });
  // The last preprocessing node writes the original input's name, so the rest of the graph is untouched.
  const shifted = layout === 'NCHW' ? orig.name : b.fresh('preprocess_nchw');
  g.nodes.push({ name: 'preprocess_offset', opType: 'Add', domain: '', inputs: [scaled, off], outputs: [shifted], attrs: {} });
  g.valueTypes.set(shifted, { dtype, shape: [...shape] });
  if (layout === 'NHWC')
    g.nodes.push({ name: 'preprocess_to_nhwc', opType: 'Transpose', domain: '', inputs: [shifted], outputs: [orig.name], attrs: { perm: { ints: [0, 2, 3, 1] } } });
  g.valueTypes.set(orig.name, { dtype, shape: [...orig.shape] });
  // Move the new nodes to the front (they were appended).
  const added = g.nodes.splice(before);
  g.nodes.unshift(...added);
  return m;
}
