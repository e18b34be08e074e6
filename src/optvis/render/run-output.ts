// What every run leaves in its folder: result.png (result-K.png per batch member), frames/ with the
// chosen steps and a labelled strip, and run.json (parameters, model hashes, seed, objective per step,
// timings). Files are written atomically; same inputs give the same image bytes.
import { join } from 'node:path';
import { FvizError } from '../../errors.ts';
import { writeAtomic } from '../../onnx/proto.ts';
import type { Nchw } from '../../image/nchw.ts';
import { encodePng } from '../../render/image.ts';
import { renderStrip } from '../../render/sheet.ts';
import { createOutputFolder } from '../../util/output-folder.ts';
import type { RunRecord } from '../../util/run-record.ts';

function hasNaN(img: Nchw): boolean {
  for (const v of img.data) if (Number.isNaN(v)) return true;
  return false;
}

async function writePngAtomic(img: Nchw, index: number, path: string): Promise<void> {
  if (hasNaN(img)) throw new FvizError(`internal: refusing to write an image with NaN to ${path}`);
  writeAtomic(path, await encodePng(img, index));
}

export interface RunImages {
  result: Nchw;
  frames: Map<number, Nchw>;
  /** Further images by file stem (e.g. MaCo's transparency), written as STEM.png / STEM-K.png. */
  extra?: Record<string, Nchw>;
}

/** Writes the images and run.json into `dir`; returns the relative paths written. */
export async function writeRun(dir: string, images: RunImages, record: Omit<RunRecord, 'outputs'>): Promise<string[]> {
  createOutputFolder(dir, 'frames');
  const outputs: string[] = [];
  const n = images.result.dims[0];
  for (let k = 0; k < n; k++) {
    const name = k === 0 ? 'result.png' : `result-${k}.png`;
    await writePngAtomic(images.result, k, join(dir, name));
    outputs.push(name);
  }
  for (const [stem, img] of Object.entries(images.extra ?? {}))
    for (let k = 0; k < img.dims[0]; k++) {
      const name = k === 0 ? `${stem}.png` : `${stem}-${k}.png`;
      await writePngAtomic(img, k, join(dir, name));
      outputs.push(name);
    }
  for (const [step, img] of [...images.frames].sort((a, b) => a[0] - b[0]))
    for (let k = 0; k < img.dims[0]; k++) {
      const name = `frames/step-${String(step).padStart(5, '0')}${n > 1 ? `-${k}` : ''}.png`;
      await writePngAtomic(img, k, join(dir, name));
      outputs.push(name);
    }
  const strip = await frameStrip(images.frames, `${record.method}: ${record.objective.text}`);
  if (strip) {
    writeAtomic(join(dir, 'frames', 'strip.png'), strip);
    outputs.push('frames/strip.png');
  }
  outputs.push('run.json');
  writeAtomic(join(dir, 'run.json'), JSON.stringify({ ...record, outputs }, null, 2) + '\n');
  return outputs;
}

/** A labelled strip of the frames of batch member 0. */
async function frameStrip(frames: Map<number, Nchw>, title?: string): Promise<Buffer | undefined> {
  if (frames.size === 0) return undefined;
  const sorted = [...frames].sort((a, b) => a[0] - b[0]);
  return renderStrip(sorted.map(([step, image]) => ({ label: step, image: { image, index: 0 } })), { title });
}
