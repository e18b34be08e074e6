// The paper's layer names for a Caffe net that reached ONNX through Caffe2 (the ONNX model zoo's BVLC
// GoogLeNet): Caffe2's exporter gives every write of a blob a version, `<blob>_<k>` (k = 0 for graph inputs
// and 1, 2, ... for the layers writing it in order), so an in-place ReLU's result is the blob's last version.
// The naming is derived from the deploy prototxt and kept only where the installed file agrees: the tensor
// must exist and have the shape the Caffe net gives that blob.
import { FvizError } from '../errors.ts';
import { caffeAliases, convertCaffe } from '../caffe/convert.ts';
import { parseNet } from '../caffe/net.ts';
import type { Graph } from '../onnx/ir.ts';

/** Layers that are the identity at inference: a version they write may stand for the one before. */
const IDENTITY_AT_TEST = new Set(['Dropout']);

export interface DerivedAliases {
  /** Caffe blob and layer name -> tensor of the ONNX graph. */
  aliases: Record<string, string>;
  /** Caffe names the ONNX graph has no matching tensor for. */
  missing: string[];
}

function sameShape(a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean {
  // The batch dimension may differ (the ONNX graph may have been prepared for another batch size).
  if (!a || !b || a.length !== b.length) return false;
  return a.every((d, i) => i === 0 || d === b[i]);
}

/** Aliases from the Caffe names of `prototxt` to the versioned tensors of `graph` (a prepared model's graph). */
export function deriveCaffe2Aliases(prototxt: string, graph: Graph, source = 'prototxt'): DerivedAliases {
  const net = parseNet(prototxt, source);
  // The Caffe net's own shapes, from a random-weight conversion (the converter tracks every blob's shape).
  let caffeShapes: (name: string) => readonly unknown[] | undefined;
  try {
    const caffe = convertCaffe(prototxt, undefined, { source });
    const names = caffeAliases(caffe);
    caffeShapes = (blob) => {
      const t = names[blob];
      return t === undefined ? undefined : caffe.graph.valueTypes.get(t)?.shape;
    };
  } catch (e) {
    throw new FvizError(`cannot derive layer aliases from ${source}: ${(e as Error).message}`, { subject: source, cause: e });
  }

  // writers[blob][k - 1] = the layer making version k.
  const writers = new Map<string, { layer: string; type: string }[]>();
  const inputs = new Set(net.inputs.map((i) => i.name));
  const layerTop = new Map<string, { blob: string; version: number }>();
  for (const l of net.layers) {
    if (l.type === 'Input') {
      for (const t of l.top) inputs.add(t);
      continue;
    }
    for (const t of l.top) {
      const list = writers.get(t) ?? [];
      list.push({ layer: l.name, type: l.type });
      writers.set(t, list);
      if (!layerTop.has(l.name)) layerTop.set(l.name, { blob: t, version: list.length });
    }
  }

  const tensorOk = (name: string, blob: string) => {
    const t = graph.valueTypes.get(name);
    return t !== undefined && !graph.initializers.has(name) && sameShape(t.shape, caffeShapes(blob));
  };
  const aliases: Record<string, string> = {};
  const missing: string[] = [];
  const blobs = [...inputs, ...writers.keys()];
  for (const blob of blobs) {
    const list = writers.get(blob) ?? [];
    const last = list.length; // inputs: version 0
    let found: string | undefined;
    for (let v = last; v >= 0; v--) {
      if (tensorOk(`${blob}_${v}`, blob)) {
        found = `${blob}_${v}`;
        break;
      }
      // Step back past version v only when the layer that wrote it changes nothing at inference.
      if (v === 0 || !IDENTITY_AT_TEST.has(list[v - 1]!.type)) break;
    }
    if (found) aliases[blob] = found;
    else missing.push(blob);
  }
  for (const [layer, { blob, version }] of layerTop) {
    if (writers.has(layer) || inputs.has(layer)) continue; // a blob of the same name: the blob's meaning (its final value) wins
    const name = `${blob}_${version}`;
    if (tensorOk(name, blob)) aliases[layer] = name;
    else if (aliases[blob] && IDENTITY_AT_TEST.has(writers.get(blob)![version - 1]!.type)) aliases[layer] = aliases[blob]!;
    else missing.push(layer);
  }
  // An alias that is already a tensor name of the graph adds nothing.
  for (const k of Object.keys(aliases)) if (graph.valueTypes.has(k)) delete aliases[k];
  return { aliases, missing };
}
