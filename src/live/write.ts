// `fviz serve --write-to DIR`: the live page as static files in a folder (an atlas's live/), for a static
// host that can send the cross-origin isolation headers or run single-threaded. There is no compiler
// behind a static host, so the programs for the model's class objectives are compiled now and written
// beside the page (api/programs/), with api/info; the page asks for them as it asks fviz serve.
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LivePrograms, type LiveModelOptions } from './programs.ts';
import { livePageDir } from './page.ts';
import { ortWebDir } from './server.ts';
import type { LiveInfo } from './protocol.ts';

const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

export interface WriteOptions extends LiveModelOptions {
  /** Objectives to compile (default: the first class, by DGN-AM and by a pixel method). */
  objectives?: string[];
  /** Take the programs (and the models) from here: a running server's, to reuse what it compiled. */
  programs?: LivePrograms;
}

/** Writes the page, onnxruntime-web's wasm files, api/info and the programs into `dir`. */
export async function writeLivePage(dir: string, opts: WriteOptions = {}): Promise<{ files: number; programs: number }> {
  const page = await livePageDir();
  mkdirSync(dir, { recursive: true });
  cpSync(page, dir, { recursive: true, filter: (src) => !src.endsWith('.fviz-live-stamp') });
  let files = 0;
  mkdirSync(join(dir, 'ort'), { recursive: true });
  for (const f of ORT_FILES) {
    copyFileSync(join(ortWebDir(), f), join(dir, 'ort', f));
    files++;
  }
  const programs = opts.programs ?? new LivePrograms(opts);
  const info: LiveInfo = { ...programs.info(), static: true };
  const objectives = opts.objectives ?? [info.examples[0]!];
  info.examples = objectives;
  mkdirSync(join(dir, 'api', 'program'), { recursive: true });
  const index: Record<string, unknown> = {};
  let count = 0;
  for (const objective of objectives)
    for (const method of [...(info.generator ? (['dgn'] as const) : []), ...(info.ppgn ? (['ppgn'] as const) : []), 'pixel' as const]) {
      const p = await programs.program({ method, objective });
      const { data, ...resp } = p;
      writeFileSync(join(dir, 'api', 'program', `${p.id}.onnx`), data);
      index[`${method}\n${objective}`] = resp;
      count++;
    }
  if (info.spectrum) writeFileSync(join(dir, 'api', 'spectrum'), JSON.stringify(await programs.spectrum()));
  writeFileSync(join(dir, 'api', 'info'), JSON.stringify(info));
  writeFileSync(join(dir, 'api', 'programs.json'), JSON.stringify(index));
  return { files: files + count + 2, programs: count };
}
