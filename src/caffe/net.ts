// A deploy prototxt as a list of layers and declared inputs: V2 `layer` and legacy V1 `layers` blocks alike,
// layers excluded from the TEST phase dropped, legacy input declarations (input + input_shape / input_dim)
// gathered, every item carrying its line for error messages.
import { FvizError } from '../errors.ts';
import { parsePrototxt, TextReader } from './prototxt.ts';
import { V1_TYPE_TO_V2 } from './schema.ts';

export interface NetLayer {
  name: string;
  /** V2 type string. */
  type: string;
  bottom: string[];
  top: string[];
  /** The layer block, for its parameters. */
  params: TextReader;
  line: number;
}

export interface NetInput {
  name: string;
  shape: number[];
  line: number;
}

export interface NetDefinition {
  name: string;
  source: string;
  inputs: NetInput[];
  layers: NetLayer[];
}

function shapeOf(r: TextReader): number[] {
  return r.ints('dim');
}

/** Whether a layer with these include/exclude rules runs in the TEST phase (how deploy nets run). */
function inTestPhase(layer: TextReader): boolean {
  const matches = (rule: TextReader): boolean => {
    const phase = rule.enumValue('phase', '', ['TRAIN', 'TEST']);
    if (phase && phase !== 'TEST') return false;
    // The converter's net state has no stages and level 0.
    if (rule.strings('stage').length > 0) return false;
    if ((rule.int('min_level') ?? 0) > 0 || (rule.int('max_level') ?? 0) < 0) return false;
    return true;
  };
  const include = layer.messages('include');
  const exclude = layer.messages('exclude');
  if (include.length > 0 && !include.some(matches)) return false;
  if (exclude.some(matches)) return false;
  return true;
}

export function parseNet(text: string, source = 'prototxt'): NetDefinition {
  const root = new TextReader(parsePrototxt(text, source), source, 'net');
  const inputs: NetInput[] = [];
  const inputNames = root.strings('input');
  const inputShapes = root.messages('input_shape');
  const inputDims = root.ints('input_dim');
  if (inputNames.length > 0) {
    const line = root.lineOf('input');
    if (inputShapes.length > 0) {
      if (inputShapes.length !== inputNames.length)
        throw new FvizError(`${source}:${line}: ${inputNames.length} inputs but ${inputShapes.length} input_shape blocks`);
      inputNames.forEach((n, i) => inputs.push({ name: n, shape: shapeOf(inputShapes[i]!), line }));
    } else if (inputDims.length > 0) {
      if (inputDims.length !== 4 * inputNames.length)
        throw new FvizError(`${source}:${line}: ${inputNames.length} inputs need ${4 * inputNames.length} input_dim values, found ${inputDims.length}`);
      inputNames.forEach((n, i) => inputs.push({ name: n, shape: inputDims.slice(4 * i, 4 * i + 4), line }));
    } else throw new FvizError(`${source}:${line}: input '${inputNames[0]}' has no input_shape or input_dim`);
  }

  const layers: NetLayer[] = [];
  const v2 = root.msg.fields.filter((f) => f.name === 'layer');
  const v1 = root.msg.fields.filter((f) => f.name === 'layers');
  if (v2.length > 0 && v1.length > 0)
    throw new FvizError(`${source}:${v1[0]!.line}: the net mixes 'layer' and legacy 'layers' blocks; use one kind`);
  const isV1 = v1.length > 0;
  const blocks = root.messages(isV1 ? 'layers' : 'layer');
  const lines = (isV1 ? v1 : v2).map((f) => f.line);
  blocks.forEach((block, i) => {
    const line = lines[i]!;
    const name = block.string('name') ?? `layer${i}`;
    let type: string;
    if (isV1) {
      const raw = block.enumValue('type', 'NONE');
      type = V1_TYPE_TO_V2[raw] ?? raw;
    } else {
      const t = block.string('type');
      if (t === undefined) throw new FvizError(`${source}:${line}: layer '${name}' has no type`);
      type = t;
    }
    const reader = new TextReader(block.msg, source, `layer '${name}' (${type})`);
    if (!inTestPhase(block)) return;
    layers.push({ name, type, bottom: block.strings('bottom'), top: block.strings('top'), params: reader, line });
  });
  return { name: root.string('name', ''), source, inputs, layers };
}
