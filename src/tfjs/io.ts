// A LayersModel's files (model.json + weight shards) read from and written to the file system: what
// tfjs-node's file:// handler does, without the native binding. Reading checks every shard's presence and
// size first, so a broken download gets one line naming the file.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { io } from '@tensorflow/tfjs-core';
import { FvizError } from '../errors.ts';

type ModelArtifacts = io.ModelArtifacts;
type WeightsManifestEntry = io.WeightsManifestEntry;

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

export interface LayersModelFiles {
  /** model.json, absolute. */
  path: string;
  artifacts: ModelArtifacts;
  /** sha256 over model.json and the shards in manifest order. */
  sha256: string;
  /** The shard files, absolute, in manifest order. */
  shards: string[];
}

function weightBytes(spec: WeightsManifestEntry, where: string): number {
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const per = BYTES[dtype];
  if (per === undefined) throw new FvizError(`${where}: weight '${spec.name}' has dtype '${dtype}', which tfjs weights cannot have`);
  return spec.shape.reduce((a, b) => a * b, 1) * per;
}

/** The message for a tfjs GraphModel, which has no layers to walk. */
export function graphModelMessage(path: string): string {
  return (
    `${path} is a TensorFlow.js GraphModel (a frozen TensorFlow graph), not a LayersModel: fviz converts LayersModels only; ` +
    'convert the original model instead (Keras .h5/.keras: tensorflowjs_converter --input_format keras MODEL.h5 DIR gives a LayersModel; ' +
    'SavedModel: python -m tf2onnx.convert --saved-model DIR --output model.onnx gives ONNX directly)'
  );
}

/** Read model.json and its shards into the artifacts tfjs' loadLayersModel takes. */
export function readLayersModelFiles(jsonPath: string): LayersModelFiles {
  const path = resolve(jsonPath);
  if (!existsSync(path)) throw new FvizError(`model file '${jsonPath}' does not exist`, { subject: jsonPath });
  const text = readFileSync(path);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new FvizError(`${jsonPath} is not valid JSON: ${(e as Error).message}`, { subject: jsonPath });
  }
  const topology = json['modelTopology'] as Record<string, unknown> | undefined;
  if (json['format'] === 'graph-model' || (topology && Array.isArray(topology['node']))) throw new FvizError(graphModelMessage(jsonPath), { subject: jsonPath });
  if (!topology || typeof topology !== 'object')
    throw new FvizError(`${jsonPath} has no modelTopology: it is not a TensorFlow.js LayersModel (model.json as model.save() or tensorflowjs_converter writes it)`, { subject: jsonPath });
  const manifest = (json['weightsManifest'] ?? []) as { paths: string[]; weights: WeightsManifestEntry[] }[];
  if (!Array.isArray(manifest)) throw new FvizError(`${jsonPath}: weightsManifest must be a list of {paths, weights} groups`, { subject: jsonPath });
  const dir = dirname(path);
  const hash = createHash('sha256').update(text);
  const buffers: Buffer[] = [];
  const shards: string[] = [];
  const weightSpecs: WeightsManifestEntry[] = [];
  manifest.forEach((group, g) => {
    const files = group.paths.map((p) => join(dir, p));
    for (const f of files)
      if (!existsSync(f)) throw new FvizError(`weight shard '${f}' named by ${jsonPath} (group ${g + 1}) is missing: copy every file model.save() wrote beside model.json`, { subject: f });
    const expected = group.weights.reduce((s, w) => s + weightBytes(w, jsonPath), 0);
    const sizes = files.map((f) => statSync(f).size);
    const got = sizes.reduce((a, b) => a + b, 0);
    if (got !== expected) {
      const which = files.length === 1 ? `weight shard '${files[0]}' has` : `weight shards ${files.map((f) => `'${f}'`).join(', ')} have`;
      throw new FvizError(`${which} ${got} bytes but ${jsonPath} declares ${expected} bytes of weights for them (${group.weights.length} tensors): the file is truncated or from another model`, { subject: files[0] });
    }
    for (const f of files) {
      const b = readFileSync(f);
      hash.update(b);
      buffers.push(b);
      shards.push(f);
    }
    weightSpecs.push(...group.weights);
  });
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const artifacts: ModelArtifacts = {
    modelTopology: topology as ModelArtifacts['modelTopology'],
    weightSpecs,
    weightData,
    format: json['format'] as string | undefined,
    generatedBy: json['generatedBy'] as string | undefined,
    convertedBy: json['convertedBy'] as string | null | undefined,
  };
  if (json['userDefinedMetadata']) artifacts.userDefinedMetadata = json['userDefinedMetadata'] as Record<string, {}>;
  return { path, artifacts, sha256: hash.digest('hex'), shards };
}

/** An IO handler for tfjs' model.save(): model.json and one shard `weights.bin` in `dir`, as tfjs-node writes them. */
export function fileSaveHandler(dir: string): io.IOHandler {
  return {
    save: async (a: ModelArtifacts) => {
      mkdirSync(dir, { recursive: true });
      const data = a.weightData === undefined ? new ArrayBuffer(0) : Array.isArray(a.weightData) ? concatBuffers(a.weightData) : a.weightData;
      writeFileSync(join(dir, 'weights.bin'), new Uint8Array(data));
      const json = {
        modelTopology: a.modelTopology,
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: data.byteLength } };
    },
  };
}

function concatBuffers(parts: ArrayBuffer[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), o);
    o += p.byteLength;
  }
  return out.buffer;
}
