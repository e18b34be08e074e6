// Caffe deploy prototxt + caffemodel -> ONNX IR. Node names are the Caffe layer names; tensors carry the Caffe
// blob names (SSA-versioned where layers work in place); metadata 'fviz.aliases' maps every Caffe blob and
// layer name to its tensor.
import { readFileSync } from 'node:fs';
import { FvizError } from '../errors.ts';
import type { Model, TensorData } from '../onnx/ir.ts';
import { emptyGraph, emptyModel } from '../onnx/ir.ts';
import { saveModel } from '../onnx/proto.ts';
import { decodeCaffemodel, readCaffemodel, type CaffeNetRecord } from './caffemodel.ts';
import { ConvertContext, type WeightSource } from './context.ts';
import { LOWERINGS, TRAINING_ONLY_TYPES } from './layers.ts';
import { parseNet, type NetLayer } from './net.ts';

export interface ConvertCaffeOptions {
  /** Name of the prototxt in error messages. */
  source?: string;
  /** Name of the caffemodel in error messages. */
  weightsSource?: string;
  /** Batch size of the converted graph (default: the prototxt's). */
  batch?: number;
  /** Seed of the random He-scaled weights used when no caffemodel is given (default 0). */
  seed?: number;
}

/** Metadata key holding JSON {caffe name: tensor name} for every blob and layer of the net. */
export const ALIASES_KEY = 'fviz.aliases';

export function caffeAliases(model: Model): Record<string, string> {
  const raw = model.metadata[ALIASES_KEY];
  return raw ? (JSON.parse(raw) as Record<string, string>) : {};
}

function weightSource(caffemodel: Uint8Array | CaffeNetRecord | undefined, opts: ConvertCaffeOptions): WeightSource {
  const source = opts.weightsSource ?? 'caffemodel';
  if (caffemodel === undefined) return { source: `random weights (seed ${opts.seed ?? 0})`, randomSeed: opts.seed ?? 0, get: () => undefined };
  const net = caffemodel instanceof Uint8Array ? decodeCaffemodel(caffemodel, source) : caffemodel;
  const byName = new Map<string, TensorData[]>();
  // A train_val snapshot may list a layer twice (TRAIN and TEST copies); the one with blobs wins.
  for (const l of net.layers) if (l.blobs.length > 0 || !byName.has(l.name)) byName.set(l.name, l.blobs);
  return { source, get: (name) => byName.get(name) };
}

function unsupported(source: string, layer: NetLayer): FvizError {
  const hint = TRAINING_ONLY_TYPES.has(layer.type) ? ' (a training layer: convert the deploy prototxt instead)' : '';
  return new FvizError(
    `${source}:${layer.line}: layer '${layer.name}' has type '${layer.type}', which the Caffe converter does not support${hint}; supported: Input, ${Object.keys(LOWERINGS).join(', ')}`,
    { subject: layer.type },
  );
}

/** Convert a deploy prototxt and (optionally) its caffemodel. Without a caffemodel, weights are random (seeded). */
export function convertCaffe(prototxt: string, caffemodel: Uint8Array | CaffeNetRecord | undefined, opts: ConvertCaffeOptions = {}): Model {
  const source = opts.source ?? 'prototxt';
  const net = parseNet(prototxt, source);
  // Fail on unknown types before any work, naming the first one.
  for (const l of net.layers) if (l.type !== 'Input' && !LOWERINGS[l.type]) throw unsupported(source, l);
  const weights = weightSource(caffemodel, opts);

  const declared: { name: string; shape: number[]; line: number }[] = [...net.inputs];
  for (const l of net.layers) {
    if (l.type !== 'Input') continue;
    const shapes = l.params.message('input_param')?.messages('shape').map((s) => s.ints('dim')) ?? [];
    if (shapes.length !== 1 && shapes.length !== l.top.length)
      throw new FvizError(`${source}:${l.line}: Input layer '${l.name}' needs one shape, or one per top (${l.top.length})`);
    l.top.forEach((t, i) => declared.push({ name: t, shape: shapes[shapes.length === 1 ? 0 : i]!, line: l.line }));
  }
  if (declared.length === 0) throw new FvizError(`${source}: the net declares no input (input + input_shape, or an Input layer)`);
  for (const d of declared)
    if (d.shape.length === 0 || d.shape.some((v) => !Number.isInteger(v) || v < 1))
      throw new FvizError(`${source}:${d.line}: input '${d.name}' has shape [${d.shape.join(', ')}]; every dim must be a positive integer`);
  const declaredBatch = declared[0]!.shape[0]!;
  const batch = opts.batch ?? declaredBatch;
  if (!Number.isInteger(batch) || batch < 1) throw new FvizError(`batch must be a positive integer, got ${batch}`);

  const writeCounts = new Map<string, number>();
  const bump = (b: string) => writeCounts.set(b, (writeCounts.get(b) ?? 0) + 1);
  for (const d of declared) bump(d.name);
  for (const l of net.layers) if (l.type !== 'Input') l.top.forEach(bump);

  const graph = emptyGraph(net.name || 'caffe');
  const ctx = new ConvertContext(graph, source, writeCounts, weights, batch, declaredBatch);
  const available: string[] = [];
  const aliases: Record<string, string> = {};
  const layerAliases: Record<string, string> = {};

  const addInput = (d: { name: string; shape: number[] }) => {
    const shape = d.shape[0] === declaredBatch ? [batch, ...d.shape.slice(1)] : [...d.shape];
    const t = ctx.output(d.name, shape);
    graph.inputs.push({ name: t, dtype: 'float32', shape });
    available.push(d.name);
  };
  for (const d of net.inputs) addInput(d);
  for (const l of net.layers) {
    if (l.type === 'Input') {
      for (const d of declared.filter((x) => l.top.includes(x.name) && x.line === l.line)) addInput(d);
      continue;
    }
    LOWERINGS[l.type]!(ctx, l);
    for (const b of l.bottom) {
      const i = available.indexOf(b);
      if (i >= 0) available.splice(i, 1);
    }
    for (const t of l.top) {
      if (!available.includes(t)) available.push(t);
      layerAliases[l.name] ??= ctx.input(l, t);
    }
  }
  for (const [name, tensor] of Object.entries(layerAliases)) aliases[name] = tensor;
  for (const blob of writeCounts.keys()) {
    const t = ctx.tensorOf(blob);
    if (t !== undefined) aliases[blob] = t;
  }

  for (const blob of available) {
    const t = aliases[blob]!;
    graph.outputs.push({ name: t, dtype: 'float32', shape: [...ctx.shape(t)] });
  }

  const model = emptyModel(graph);
  model.producerName = 'fviz convert-caffe';
  model.metadata[ALIASES_KEY] = JSON.stringify(aliases);
  model.metadata['fviz.source'] = `caffe:${source}`;
  model.metadata['fviz.weights'] = weights.randomSeed !== undefined ? `random:${weights.randomSeed}` : weights.source;
  return model;
}

export interface ConvertCaffeFilesResult {
  model: Model;
  layers: number;
  parameters: number;
}

/** The CLI's work: read the two files, convert, write the ONNX model atomically. */
export function convertCaffeFiles(deployPath: string, weightsPath: string | undefined, outPath: string, opts: Omit<ConvertCaffeOptions, 'source' | 'weightsSource'> = {}): ConvertCaffeFilesResult {
  let text: string;
  try {
    text = readFileSync(deployPath, 'utf8');
  } catch (e) {
    throw new FvizError(`prototxt '${deployPath}' cannot be read: ${(e as Error).message}`, { subject: deployPath, cause: e });
  }
  const weights = weightsPath === undefined ? undefined : readCaffemodel(weightsPath);
  const model = convertCaffe(text, weights, { ...opts, source: deployPath, weightsSource: weightsPath });
  // Files past protobuf's 2 GB limit keep their weights beside the model.
  const bytes = [...model.graph.initializers.values()].reduce((s, t) => s + (t.data as { byteLength: number }).byteLength, 0);
  saveModel(model, outPath, bytes > 1.5 * 2 ** 30 ? { externalDataThreshold: 1024 } : {});
  let parameters = 0;
  for (const t of model.graph.initializers.values()) if (t.dtype === 'float32') parameters += t.data.length;
  return { model, layers: model.graph.nodes.length, parameters };
}
