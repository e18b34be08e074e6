// `fviz dream`: a photo in, the dreamed PNG and its run.json beside it out.
import { mkdirSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import type { InputConvention } from '../../classifier/card.ts';
import { resolveClassifier } from '../../models/registry.ts';
import { writeAtomic } from '../../onnx/proto.ts';
import { encodePng, readImage } from '../../render/image.ts';
import { fileSha256, VERSION } from '../../util/run-record.ts';
import { deepDream, type DreamOptions } from './dream.ts';

export interface DreamFileOptions extends DreamOptions {
  /** Classifier name or path, as --model takes (default: embedded). */
  model?: string;
  input?: Partial<InputConvention>;
  /** The photo. */
  image: string;
  /** Output PNG; `<name>.run.json` is written beside it. */
  out: string;
  /** Shrink larger photos to this longer side. */
  maxSize: number;
  /** The command line recorded in run.json. */
  command?: string;
}

export interface DreamFileResult {
  out: string;
  runJson: string;
  history: Awaited<ReturnType<typeof deepDream>>['history'];
}

export async function dreamFile(o: DreamFileOptions): Promise<DreamFileResult> {
  const t0 = performance.now();
  const classifier = resolveClassifier(o.model, o.input);
  const meta = await readImage(o.image);
  const [, , h, w] = meta.dims;
  const f = Math.min(1, o.maxSize / Math.max(h, w));
  const image = f < 1 ? await readImage(o.image, { size: [Math.round(h * f), Math.round(w * f)], fit: 'stretch' }) : meta;
  const res = await deepDream(classifier, image, o);
  mkdirSync(dirname(o.out) || '.', { recursive: true });
  writeAtomic(o.out, await encodePng(res.image));
  const runJson = join(dirname(o.out), `${basename(o.out, extname(o.out))}.run.json`);
  const record = {
    tool: 'fviz',
    version: VERSION,
    command: o.command ?? 'dream',
    method: 'deepdream',
    objective: { text: `mean square of ${o.layer}` },
    seed: o.seed,
    parameters: { layer: o.layer, image: o.image, octaves: o.octaves, octaveScale: o.octaveScale, stepsPerOctave: o.stepsPerOctave, step: o.step, jitter: o.jitter, size: [res.image.dims[2], res.image.dims[3]] },
    models: [{ role: 'classifier', path: classifier.modelPath, sha256: await fileSha256(classifier.modelPath) }],
    octaves: res.history,
    timings: { totalMs: performance.now() - t0 },
  };
  writeAtomic(runJson, JSON.stringify(record, null, 2) + '\n');
  return { out: o.out, runJson, history: res.history };
}
