// TensorFlow.js LayersModel -> ONNX IR. The graph takes the model's channels-last input as is and
// transposes it to NCHW in its first node; rank-4 values inside are NCHW, tensors are named after the tfjs
// layers (nested models prefix theirs: `inner/conv2d_1`), and metadata 'fviz.aliases' maps every layer name
// to its output tensor.
import type { LayersModel, SymbolicTensor } from '@tensorflow/tfjs-layers';
import { FvizError } from '../errors.ts';
import type { Model, TensorData } from '../onnx/ir.ts';
import { emptyGraph, emptyModel, producers } from '../onnx/ir.ts';
import { NCHW_TO_NHWC, NHWC_TO_NCHW, TfjsContext, type LayerInfo, type Value } from './context.ts';
import { graphModelMessage, readLayersModelFiles, type LayersModelFiles } from './io.ts';
import { CONTAINERS, CONVERTERS } from './layers.ts';
import { loadTfjs } from './runtime.ts';

export const ALIASES_KEY = 'fviz.aliases';

/** What the card needs to know about the converted model. */
export interface TfjsConversion {
  model: Model;
  /** Layer name -> tensor name. */
  aliases: Record<string, string>;
  /** tfjs shape of each model input (batch as -1). */
  inputShapes: number[][];
  /** The input of the Softmax producing the (single) output, if any. */
  preSoftmax?: string;
  /** The affine map y = scale * x + offset of Rescaling layers applied to the input before anything else. */
  rescaling?: { scale: number; offset: number; layers: string[] };
  layers: number;
  parameters: number;
}

const HINTS: Record<string, string> = {
  Normalization: ' (tfjs-layers 4.22 has no Normalization layer, so tfjs cannot load this model either: fold it into a Rescaling layer or the first convolution before converting)',
};

type TopologyLayer = { class_name: string; name?: string; config: unknown };

/** The class names in a topology, depth first, with their layer names; for failing before tfjs sees an unknown class. */
function* topologyLayers(config: unknown): Generator<{ className: string; name: string }> {
  if (!config || typeof config !== 'object') return;
  const c = config as { layers?: TopologyLayer[] } | TopologyLayer[];
  const layers = Array.isArray(c) ? c : c.layers;
  if (!Array.isArray(layers)) return;
  for (const l of layers) {
    const name = l.name ?? (l.config as { name?: string } | undefined)?.name ?? '?';
    yield { className: l.class_name, name };
    if (CONTAINERS.has(l.class_name)) yield* topologyLayers(l.config);
  }
}

export function checkTopology(files: LayersModelFiles, source: string): void {
  const topo = files.artifacts.modelTopology as Record<string, unknown>;
  const root = (topo['model_config'] ?? topo) as TopologyLayer;
  if (!root || typeof root !== 'object' || typeof root.class_name !== 'string') throw new FvizError(`${source}: modelTopology has no model class_name: it is not a LayersModel`, { subject: source });
  if (!CONTAINERS.has(root.class_name)) throw new FvizError(`${source}: the model's class is '${root.class_name}'; a LayersModel is Sequential or Model (functional)`, { subject: source });
  const known = new Set(['InputLayer', ...Object.keys(CONVERTERS), ...CONTAINERS]);
  for (const l of topologyLayers(root.config))
    if (!known.has(l.className))
      throw new FvizError(
        `${source}: layer '${l.name}' has class '${l.className}', which the tfjs converter does not support${HINTS[l.className] ?? ''}; supported: ${[...Object.keys(CONVERTERS), ...CONTAINERS].join(', ')}`,
        { subject: l.className },
      );
}

function shapeOf(t: SymbolicTensor): number[] {
  return t.shape.map((d) => (d === null ? -1 : d));
}

function shortWeightName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1).replace(/:\d+$/, '');
}

/** Convert a loaded tfjs LayersModel. */
export function convertLayersModel(tfModel: LayersModel, source: string): TfjsConversion {
  const graph = emptyGraph(tfModel.name || 'tfjs');
  const ctx = new TfjsContext(graph, source);
  const aliases: Record<string, string> = {};
  let layers = 0;
  let parameters = 0;
  // Values that are the input up to Rescaling layers, and the composed map.
  const rescaled = new Map<string, { scale: number; offset: number; layers: string[] }>();
  let rescaling: TfjsConversion['rescaling'];

  const inputShapes: number[][] = [];
  const inputs: Value[] = tfModel.inputs.map((t) => {
    const shape = shapeOf(t);
    if (shape.slice(1).some((d) => d < 0))
      throw new FvizError(`${source}: input '${t.name}' has shape [${t.shape.map((d) => d ?? 'null')}]; fviz needs every dim but the batch fixed (build the model with a full inputShape)`);
    inputShapes.push(shape);
    const name = ctx.b.fresh(t.sourceLayer.name);
    const onnxDims = ['N', ...shape.slice(1)];
    graph.inputs.push({ name, dtype: 'float32', shape: onnxDims });
    graph.valueTypes.set(name, { dtype: 'float32', shape: onnxDims });
    const v = shape.length === 4 ? { name: ctx.op('Transpose', [name], { perm: { ints: NHWC_TO_NCHW } }, `${name}/nchw`), shape } : { name, shape };
    aliases[t.sourceLayer.name] = v.name;
    rescaled.set(v.name, { scale: 1, offset: 0, layers: [] });
    return v;
  });

  const convertLayer = (layer: LayersModel['layers'][number], ins: Value[], outShapes: number[][], prefix: string): Value[] => {
    const className = layer.getClassName();
    if (CONTAINERS.has(className)) {
      const outs = walk(layer as LayersModel, ins, `${prefix}${layer.name}/`);
      if (outs.length === 1) aliases[`${prefix}${layer.name}`] ??= outs[0]!.name;
      return outs;
    }
    const convert = CONVERTERS[className];
    if (!convert)
      throw new FvizError(`${source}: layer '${prefix}${layer.name}' has class '${className}', which the tfjs converter does not support`, { subject: className });
    const tensors = layer.getWeights();
    const weights = new Map<string, TensorData>();
    layer.weights.forEach((w, i) => {
      const t = tensors[i]!;
      weights.set(shortWeightName(w.originalName ?? w.name), { dtype: 'float32', dims: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) });
      parameters += t.size;
    });
    const info: LayerInfo = { className, name: `${prefix}${layer.name}`, config: layer.getConfig() as Record<string, unknown>, weights, outShapes };
    const outs = convert(ctx, info, ins);
    layers++;
    if (outs.length === 1) {
      aliases[info.name] ??= outs[0]!.name;
      const from = ins.length === 1 ? rescaled.get(ins[0]!.name) : undefined;
      const s = info.config['scale'];
      const o = info.config['offset'] ?? 0;
      if (from && className === 'Rescaling' && typeof s === 'number' && typeof o === 'number') {
        const map = { scale: from.scale * s, offset: from.offset * s + o, layers: [...from.layers, info.name] };
        rescaled.set(outs[0]!.name, map);
        rescaling = map;
      } else if (from && ['Dropout', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout'].includes(className)) rescaled.set(outs[0]!.name, from);
    }
    return outs;
  };

  function walk(model: LayersModel, ins: Value[], prefix: string): Value[] {
    const memo = new Map<number, Value>();
    if (ins.length !== model.inputs.length) throw new FvizError(`${source}: model '${prefix}' takes ${model.inputs.length} inputs, is given ${ins.length}`);
    model.inputs.forEach((t, i) => memo.set(t.id, ins[i]!));
    const evaluate = (t: SymbolicTensor): Value => {
      const known = memo.get(t.id);
      if (known) return known;
      const layer = t.sourceLayer;
      const node = layer.inboundNodes[t.nodeIndex];
      if (!node || layer.getClassName() === 'InputLayer') throw new FvizError(`${source}: tensor '${t.name}' of model '${prefix || model.name}' comes from no input of the model`);
      const args = node.inputTensors.map(evaluate);
      const outs = convertLayer(layer, args, node.outputTensors.map(shapeOf), prefix);
      node.outputTensors.forEach((o, i) => memo.set(o.id, outs[i]!));
      return memo.get(t.id)!;
    };
    return model.outputs.map(evaluate);
  }

  const outputs = walk(tfModel, inputs, '');
  // Layers of nested models also answer to their own name where no other layer has it.
  const short = new Map<string, string[]>();
  for (const name of Object.keys(aliases)) if (name.includes('/')) short.set(name.slice(name.lastIndexOf('/') + 1), [...(short.get(name.slice(name.lastIndexOf('/') + 1)) ?? []), name]);
  for (const [name, full] of short) if (full.length === 1 && !(name in aliases)) aliases[name] = aliases[full[0]!]!;
  const made = producers(graph);
  let preSoftmax: string | undefined;
  for (const v of outputs) {
    let name = v.name;
    if (v.shape.length === 4) name = ctx.op('Transpose', [v.name], { perm: { ints: NCHW_TO_NHWC } }, `${v.name}/nhwc`);
    else if (graph.inputs.some((i) => i.name === name)) name = ctx.op('Identity', [v.name], {}, `${v.name}/output`);
    const dims = ['N', ...v.shape.slice(1)];
    graph.outputs.push({ name, dtype: 'float32', shape: dims });
    graph.valueTypes.set(name, { dtype: 'float32', shape: dims });
    const p = made.get(v.name);
    if (outputs.length === 1 && p?.opType === 'Softmax') preSoftmax = p.inputs[0];
  }

  const model = emptyModel(graph);
  model.producerName = 'fviz convert-tfjs';
  model.metadata[ALIASES_KEY] = JSON.stringify(aliases);
  model.metadata['fviz.source'] = `tfjs:${source}`;
  model.metadata['fviz.inputLayout'] = 'NHWC';
  return { model, aliases, inputShapes, preSoftmax, rescaling, layers, parameters };
}

/** Read model.json + shards, load them with tfjs-layers and convert. */
export async function convertTfjsModel(jsonPath: string, files = readLayersModelFiles(jsonPath)): Promise<TfjsConversion & { files: LayersModelFiles }> {
  checkTopology(files, jsonPath);
  const { tfl } = await loadTfjs();
  let tfModel: LayersModel;
  try {
    tfModel = await tfl.loadLayersModel({ load: async () => files.artifacts });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!;
    if (/graph model/i.test(msg)) throw new FvizError(graphModelMessage(jsonPath), { subject: jsonPath });
    throw new FvizError(`${jsonPath}: tfjs-layers cannot load the model: ${msg}`, { subject: jsonPath, cause: e });
  }
  try {
    return { ...convertLayersModel(tfModel, jsonPath), files };
  } finally {
    tfModel.dispose();
  }
}
