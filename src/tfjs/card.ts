// The classifier card of a converted tfjs model: its channels-last input convention, the pixel range its
// Rescaling layers imply, layer names as aliases, labels from a Teachable Machine metadata.json or a
// labels file beside model.json.
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_INPUT, type ClassifierCard } from '../classifier/card.ts';
import { FvizError } from '../errors.ts';
import type { TfjsConversion } from './convert.ts';

/** Labels files looked for beside model.json, in order. */
export const LABEL_FILES = ['metadata.json', 'labels.json', 'labels.txt'];

interface FoundLabels {
  labels: string[];
  file: string;
  teachableMachine: boolean;
}

function readLabelsBeside(jsonPath: string): FoundLabels | undefined {
  const dir = dirname(jsonPath);
  for (const name of LABEL_FILES) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (name === 'labels.txt') return { labels: text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0), file, teachableMachine: false };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new FvizError(`${file} is not valid JSON: ${(e as Error).message}`, { subject: file });
    }
    const labels = Array.isArray(json) ? json : (json as { labels?: unknown }).labels;
    if (Array.isArray(labels) && labels.every((l) => typeof l === 'string'))
      return { labels, file, teachableMachine: name === 'metadata.json' && 'tmVersion' in (json as object) };
  }
  return undefined;
}

/** The raw pixel range a composed Rescaling map y = s x + o implies: what maps onto [0, 1] (o >= 0) or [-1, 1] (o < 0). */
export function impliedRange(scale: number, offset: number): [number, number] {
  const [lo, hi] = offset < 0 ? [-1, 1] : [0, 1];
  const round = (v: number) => Number(v.toPrecision(6));
  const a = round((lo - offset) / scale);
  const b = round((hi - offset) / scale);
  return a <= b ? [a, b] : [b, a];
}

export function tfjsCard(conv: TfjsConversion, jsonPath: string, modelFile: string, sha256: string): ClassifierCard {
  const shape = conv.inputShapes[0] ?? [];
  const notes: string[] = ['the ONNX input is channels last (NHWC) as in tfjs; its first node transposes it to NCHW'];
  let range: [number, number] = [...DEFAULT_INPUT.range];
  const found = readLabelsBeside(jsonPath);
  if (conv.rescaling) {
    range = impliedRange(conv.rescaling.scale, conv.rescaling.offset);
    notes.push(`range [${range}] from Rescaling layer(s) ${conv.rescaling.layers.join(', ')} (x * ${conv.rescaling.scale} + ${conv.rescaling.offset})`);
  } else if (found?.teachableMachine) {
    // Teachable Machine's image library feeds pixels / 127.5 - 1.
    range = [-1, 1];
    notes.push('range [-1, 1] as Teachable Machine feeds its image models');
  } else {
    notes.push('range [0, 1]: no Rescaling layer says otherwise (override with --range)');
  }
  const card: ClassifierCard = {
    name: basename(dirname(jsonPath)) || basename(jsonPath),
    model: modelFile,
    input: { ...DEFAULT_INPUT, range, size: shape.length === 4 ? [shape[1]!, shape[2]!] : DEFAULT_INPUT.size, layout: 'NHWC' },
    aliases: conv.aliases,
    source: { format: 'tfjs-layers', modelJson: jsonPath, sha256 },
    notes,
  };
  if (conv.preSoftmax) card.preSoftmax = conv.preSoftmax;
  const outputs = conv.model.graph.outputs;
  const classes = outputs.length === 1 ? outputs[0]!.shape[outputs[0]!.shape.length - 1] : undefined;
  if (found && found.labels.length === classes) {
    card.labels = found.labels;
    card['labelsFrom'] = found.file;
  } else if (found) {
    notes.push(`labels in ${found.file} not used: ${found.labels.length} labels for ${classes ?? 'no single'} output units`);
  }
  return card;
}
