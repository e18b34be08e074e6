// Fixtures for the scan, examples and facets tests: a small classifier file with its card (display input
// RGB in [0,1] at 16 x 16, so the card's preprocessing is the identity) and folders of images whose
// pixels are known exactly (PNGs at the model's size decode to the bytes that were written).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { GraphBuilder } from '../../src/onnx/builder.ts';
import { emptyGraph, emptyModel, type Model } from '../../src/onnx/ir.ts';
import { saveModel } from '../../src/onnx/proto.ts';
import { Rng } from '../../src/util/rng.ts';
import { randomWeights } from './models.ts';

export const SIDE = 16;

/**
 * data [N,3,16,16] -> conv 3x3 pad 1 -> Tanh 'act1' [N,6,16,16] -> MaxPool 2 -> conv 3x3 (no pad) -> Tanh
 * 'feat' [N,5,6,6] -> GlobalAveragePool -> Flatten 'embed' [N,5] -> Gemm 'logits' [N,3] -> Softmax 'prob'.
 */
export function scanTestModel(seed = 11, input = 'data'): Model {
  const rng = new Rng(seed);
  const g = emptyGraph('scan_test');
  const b = new GraphBuilder(g);
  g.inputs.push({ name: input, dtype: 'float32', shape: ['N', 3, SIDE, SIDE] });
  const w = (name: string, dims: number[], fanIn?: number) => {
    g.initializers.set(name, randomWeights(rng, dims, fanIn));
    return name;
  };
  b.node('Conv', [input, w('c1.W', [6, 3, 3, 3]), w('c1.b', [6], 1)], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } }, ['conv1']);
  b.node('Tanh', ['conv1'], {}, ['act1']);
  b.node('MaxPool', ['act1'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } }, ['pool1']);
  b.node('Conv', ['pool1', w('c2.W', [5, 6, 3, 3]), w('c2.b', [5], 1)], { kernel_shape: { ints: [3, 3] } }, ['conv2']);
  b.node('Tanh', ['conv2'], {}, ['feat']);
  b.node('GlobalAveragePool', ['feat'], {}, ['gap']);
  b.node('Flatten', ['gap'], {}, ['embed']);
  b.node('Gemm', ['embed', w('fc.W', [3, 5]), w('fc.b', [3], 1)], { transB: { i: 1 } }, ['logits']);
  b.node('Softmax', ['logits'], { axis: { i: 1 } }, ['prob']);
  g.outputs = [{ name: 'prob', dtype: 'float32', shape: ['N', 3] }];
  return emptyModel(g);
}

/** Writes the model and its card into `dir`; returns the .onnx path. */
export function writeScanTestModel(dir: string, seed = 11, input = 'data'): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'scan-test.onnx');
  saveModel(scanTestModel(seed, input), path);
  writeFileSync(
    join(dir, 'scan-test.card.json'),
    JSON.stringify({
      name: 'scan test net',
      model: 'scan-test.onnx',
      input: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1], size: [SIDE, SIDE] },
      labels: ['zero', 'one', 'two'],
      preSoftmax: 'logits',
    }),
  );
  return path;
}

/** Pixels (HWC RGB) of test image `i`: smooth colour fields plus seeded noise, distinct per image. */
export function testPixels(i: number, seed = 3): Uint8Array {
  const rng = new Rng(seed * 1000 + i);
  const px = new Uint8Array(SIDE * SIDE * 3);
  const phase = rng.uniform(0, 6.28);
  const freq = rng.uniform(0.2, 1.2);
  for (let y = 0; y < SIDE; y++)
    for (let x = 0; x < SIDE; x++)
      for (let c = 0; c < 3; c++) {
        const v = 128 + 90 * Math.sin(freq * (c === 0 ? x : c === 1 ? y : x + y) + phase + c) + 25 * rng.normal();
        px[(y * SIDE + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return px;
}

export interface TestFolder {
  dir: string;
  /** Relative paths in scan order (sorted), with the pixels each decodes to. */
  files: string[];
  pixels: Map<string, Uint8Array>;
}

/**
 * `count` lossless images at 16 x 16 in a nested folder (PNG and WebP-lossless, a GIF-free mix so
 * decoded bytes equal the written ones), spread over two class folders and one deeper level.
 */
export async function writeTestFolder(dir: string, count: number, seed = 3): Promise<TestFolder> {
  const pixels = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const sub = i % 2 ? 'b' : i % 3 ? 'a' : 'a/deep';
    const ext = i % 5 === 4 ? 'webp' : 'png';
    const rel = `${sub}/img${String(i).padStart(3, '0')}.${ext}`;
    mkdirSync(join(dir, sub), { recursive: true });
    const px = testPixels(i, seed);
    const img = sharp(Buffer.from(px), { raw: { width: SIDE, height: SIDE, channels: 3 } });
    await (ext === 'png' ? img.png() : img.webp({ lossless: true })).toFile(join(dir, rel));
    pixels.set(rel, px);
  }
  const files = [...pixels.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { dir, files, pixels };
}

/** Adds a truncated JPEG, a text file named .jpg and a zero-byte .png to `dir`; returns their relative paths. */
export async function addBrokenFiles(dir: string): Promise<string[]> {
  mkdirSync(join(dir, 'a'), { recursive: true });
  mkdirSync(join(dir, 'b'), { recursive: true });
  const noise = new Rng(99).fillUniform(new Float32Array(64 * 64 * 3), 0, 255);
  const jpeg = await sharp(Buffer.from(Uint8Array.from(noise, (v) => Math.floor(v))), { raw: { width: 64, height: 64, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  writeFileSync(join(dir, 'a', 'img005x-truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  writeFileSync(join(dir, 'b', 'notes.jpg'), 'this is a text file, not an image\n');
  writeFileSync(join(dir, 'b', 'img010x-empty.png'), new Uint8Array(0));
  return ['a/img005x-truncated.jpg', 'b/notes.jpg', 'b/img010x-empty.png'];
}
