// model.json -> OUT.onnx + OUT.card.json, and the cache behind `--model model.json`.
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Model } from '../onnx/ir.ts';
import { saveModel, writeAtomic } from '../onnx/proto.ts';
import type { ClassifierCard } from '../classifier/card.ts';
import { tfjsCard } from './card.ts';
import { convertTfjsModel } from './convert.ts';
import { readLayersModelFiles } from './io.ts';

export interface ConvertTfjsFilesResult {
  model: Model;
  card: ClassifierCard;
  cardPath: string;
  layers: number;
  parameters: number;
  sha256: string;
}

export function cardPathOf(onnxPath: string): string {
  return onnxPath.replace(/\.onnx$/, '') + '.card.json';
}

/** The CLI's work: convert model.json and write OUT.onnx with OUT.card.json beside it. */
export async function convertTfjsFiles(jsonPath: string, outPath: string): Promise<ConvertTfjsFilesResult> {
  const conv = await convertTfjsModel(jsonPath);
  const out = resolve(outPath);
  const card = tfjsCard(conv, conv.files.path, basename(out), conv.files.sha256);
  saveModel(conv.model, out);
  const cardPath = cardPathOf(out);
  writeAtomic(cardPath, `${JSON.stringify(card, null, 2)}\n`);
  return { model: conv.model, card, cardPath, layers: conv.layers, parameters: conv.parameters, sha256: conv.files.sha256 };
}

/** Where the conversion of a model.json with this sha256 is cached under a models cache folder. */
export function tfjsCachePath(cacheDir: string, sha256: string): string {
  return join(cacheDir, 'tfjs', sha256, 'model.onnx');
}

/** The cached conversion of model.json if it exists (the sha256 covers model.json and every shard). */
export function cachedTfjsPath(jsonPath: string, cacheDir: string): { path: string; exists: boolean } {
  const path = tfjsCachePath(cacheDir, readLayersModelFiles(jsonPath).sha256);
  return { path, exists: existsSync(path) && existsSync(cardPathOf(path)) };
}

/** Convert model.json into the cache unless it is there; returns the .onnx path (its card beside it). */
export async function ensureTfjsConverted(jsonPath: string, cacheDir: string): Promise<string> {
  const { path, exists } = cachedTfjsPath(jsonPath, cacheDir);
  if (exists) return path;
  mkdirSync(join(path, '..'), { recursive: true });
  await convertTfjsFiles(jsonPath, path);
  return path;
}
