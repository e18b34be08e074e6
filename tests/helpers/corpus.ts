// The coverage corpus of issue 13 (tests/fixtures/corpus, made by scripts/corpus/make_corpus.py): its
// cases, their metadata, inputs and float64 reference gradients, and the precision rule they are held to.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorData } from '../../src/onnx/ir.ts';
import { readNpy } from '../../src/runtime/npy.ts';

export const CORPUS_DIR = join(import.meta.dirname, '..', 'fixtures', 'corpus');

export interface CorpusMeta {
  family: string;
  opset: number;
  input: string;
  output: string;
  /** `<output>:<k>`: logit k of the output. */
  objective: string;
  /** [C, H, W] of the fixture input. */
  size: [number, number, number];
  /** Names of the input's dynamic axes (batch, height, width); empty when static. */
  dynamic: string[];
  /** The objective at the fixture input, float64 PyTorch. */
  value: number;
  /** max|g_f32 - g64| / max|g64| of PyTorch float32 at the same input. */
  f32GradError: number;
  /** Smallest relative distance of a ReLU-like input to its kink or of a max-pool window's top two values; null: no kink. */
  minMargin: number | null;
  minMarginAt: string;
  exactTies: number;
  inputSeed: number;
  torch: string;
}

export interface CorpusCase {
  name: string;
  model: string;
  meta: CorpusMeta;
}

/** Every case of the corpus, sorted by name; `filter` (a RegExp source) keeps matching names. */
export function corpusCases(filter?: string): CorpusCase[] {
  const re = filter ? new RegExp(filter) : undefined;
  return readdirSync(CORPUS_DIR)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => f.slice(0, -'.onnx'.length))
    .filter((name) => !re || re.test(name))
    .sort()
    .map((name) => ({ name, model: join(CORPUS_DIR, `${name}.onnx`), meta: corpusMeta(name) }));
}

export function corpusMeta(name: string): CorpusMeta {
  return JSON.parse(readFileSync(join(CORPUS_DIR, `${name}.json`), 'utf8')) as CorpusMeta;
}

/** The fixture input, float32 [1, C, H, W]. */
export function corpusInput(name: string): TensorData {
  return readNpy(join(CORPUS_DIR, `${name}.input.npy`));
}

/** The float64 reference d objective / d input. */
export function corpusGrad(name: string): TensorData {
  return readNpy(join(CORPUS_DIR, `${name}.grad.npy`));
}

/** Index k of the objective `<output>:<k>`. */
export function objectiveIndex(meta: CorpusMeta): number {
  const k = Number(meta.objective.slice(meta.objective.lastIndexOf(':') + 1));
  if (!Number.isInteger(k)) throw new Error(`corpus objective '${meta.objective}' is not <output>:<k>`);
  return k;
}

/** Issue 13's precision rule for a gradient: max|g - g64| / max|g64| <= max(2e-4, 3 * f32GradError). */
export function gradTolerance(meta: CorpusMeta): number {
  return Math.max(2e-4, 3 * meta.f32GradError);
}

export const VALUE_TOLERANCE = 1e-5;

/** max|g - ref| / max|ref|. */
export function relMaxError(g: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (g.length !== ref.length) throw new Error(`gradient has ${g.length} elements, reference ${ref.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(g[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return err / scale;
}
