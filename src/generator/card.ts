// A generator = an ONNX model from a code to an image + its card: code size, per-unit code bounds,
// the output's convention, and how the output reaches the classifier's input.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { FvizError } from '../errors.ts';
import type { InputConvention } from '../classifier/card.ts';
import { cardPathFor, readCard } from '../classifier/card.ts';

/** The output's pixel convention: output = (display * (hi - lo) + lo - mean) / std, channels in `channels` order. */
export type OutputConvention = Omit<InputConvention, 'size'> & { size?: [number, number] };

export interface DgnSettings {
  steps: number;
  startStep: number;
  endStep: number;
  /** Multiplies the code after every step (Nguyen: 0.99). */
  l2: number;
}

export interface GeneratorCard {
  name: string;
  model: string;
  codeSize: number;
  /** Lower and upper bounds per code unit: a number for all units, an array, or a file of numbers (relative to the card). */
  bounds?: { lower: number | number[] | string; upper: number | number[] | string };
  output: OutputConvention;
  /** How the output reaches the classifier's input size. */
  toClassifier: 'center-crop' | 'resize';
  /** Recommended DGN-AM settings for this generator. */
  dgn?: Partial<DgnSettings>;
  /** The classifier layer the generator inverts, as 'MODEL:TENSOR' (the encoder for --init-image). */
  encoder?: string;
  [key: string]: unknown;
}

export interface Generator {
  card: GeneratorCard;
  modelPath: string;
  lower?: Float32Array;
  upper?: Float32Array;
}

function readNumbers(spec: number | number[] | string, n: number, cardDir: string, what: string): Float32Array {
  let values: number[];
  if (typeof spec === 'number') values = new Array<number>(n).fill(spec);
  else if (Array.isArray(spec)) values = spec;
  else {
    const p = resolve(cardDir, spec);
    if (!existsSync(p)) throw new FvizError(`${what} file '${p}' does not exist`, { subject: p });
    values = readFileSync(p, 'utf8')
      .split(/[\s,]+/)
      .filter((s) => s.length > 0)
      .map(Number);
    if (values.some((v) => !Number.isFinite(v))) throw new FvizError(`${what} file '${p}' holds something that is not a number`);
    if (values.length !== n)
      throw new FvizError(`${what} file '${p}' has ${values.length} numbers but the generator's code has ${n} units`, { subject: p });
  }
  if (values.length !== n) throw new FvizError(`${what} has ${values.length} values but the code has ${n} units`);
  return Float32Array.from(values);
}

/** Parse bounds given on the command line or in a card. */
export function loadBounds(card: GeneratorCard, cardDir: string): { lower?: Float32Array; upper?: Float32Array } {
  if (!card.bounds) return {};
  const lower = readNumbers(card.bounds.lower, card.codeSize, cardDir, 'lower code bound');
  const upper = readNumbers(card.bounds.upper, card.codeSize, cardDir, 'upper code bound');
  for (let k = 0; k < card.codeSize; k++)
    if (lower[k]! > upper[k]!) throw new FvizError(`code bounds: unit ${k} has lower ${lower[k]} above upper ${upper[k]}`);
  return { lower, upper };
}

export function openGenerator(modelPath: string, overrides: Partial<GeneratorCard> = {}): Generator {
  const abs = resolve(modelPath);
  if (!existsSync(abs)) throw new FvizError(`generator file '${modelPath}' does not exist`, { subject: modelPath });
  const cardPath = cardPathFor(abs);
  const fromFile = cardPath ? (readCard(cardPath) as unknown as GeneratorCard) : undefined;
  const card: GeneratorCard = {
    name: basename(abs, '.onnx'),
    model: basename(abs),
    codeSize: 0,
    output: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1] },
    toClassifier: 'center-crop',
    ...fromFile,
    ...overrides,
  };
  const dir = cardPath ? dirname(cardPath) : dirname(abs);
  return { card, modelPath: abs, ...(card.codeSize ? loadBounds(card, dir) : {}) };
}
