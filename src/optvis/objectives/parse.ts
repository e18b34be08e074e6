// The objective grammar shared by every command:
//   TENSOR:C        channel C of an NCHW tensor (mean over positions), or element C of an N x K tensor
//   TENSOR:C@Y,X    one neuron
//   TENSOR          mean of squares over the whole tensor (DeepDream)
//   class:K | class:NAME   the pre-softmax logit of class K
//   sums with weights: 0.5*a + b - c   (spaces around + and -, since tensor names may contain '-')
import { FvizError } from '../../errors.ts';

export type Target =
  | { kind: 'class'; cls: number | string }
  | { kind: 'channel'; tensor: string; channel: number }
  | { kind: 'neuron'; tensor: string; channel: number; y: number; x: number }
  | { kind: 'layer'; tensor: string };

export interface Term {
  weight: number;
  target: Target;
  /** Only this batch member (programmatic objectives; the text grammar has no batch index). */
  batch?: number;
}

/** Lucid's diversity term: minus the mean pairwise cosine similarity of the batch's Gram matrices at a layer. */
export interface DiversityTerm {
  weight: number;
  layer: string;
}

export interface ObjectiveAst {
  text: string;
  terms: Term[];
  /** Added to the differentiated scalar, not to the per-item objective. */
  diversity?: DiversityTerm[];
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function parseTarget(atom: string, text: string): Target {
  if (atom.startsWith('class:')) {
    const rest = atom.slice(6);
    if (!rest) throw new FvizError(`objective '${text}': class needs an index or a name, e.g. class:3`);
    return /^\d+$/.test(rest) ? { kind: 'class', cls: Number(rest) } : { kind: 'class', cls: rest };
  }
  const m = /^(.*):(\d+)(?:@(\d+),(\d+))?$/.exec(atom);
  if (m && m[1]) {
    const [, tensor, c, y, x] = m;
    if (y !== undefined && x !== undefined) return { kind: 'neuron', tensor: tensor!, channel: Number(c), y: Number(y), x: Number(x) };
    return { kind: 'channel', tensor: tensor!, channel: Number(c) };
  }
  if (/:\d+@/.test(atom))
    throw new FvizError(`objective '${text}': '${atom}' is not TENSOR:C@Y,X`);
  return { kind: 'layer', tensor: atom };
}

export function parseObjective(text: string): ObjectiveAst {
  const src = text.trim();
  if (!src) throw new FvizError('objective is empty: give e.g. class:3, conv2:5 or "0.5*a:1 + b:2"');
  // Split on + and - that stand alone between spaces (or lead the expression).
  const tokens = src.split(/\s+([+-])\s+/);
  const terms: Term[] = [];
  let sign = 1;
  for (let k = 0; k < tokens.length; k++) {
    const tok = tokens[k]!;
    if (k % 2 === 1) {
      sign = tok === '-' ? -1 : 1;
      continue;
    }
    let body = tok.trim();
    let s = sign;
    if (body.startsWith('-') && k === 0) {
      s = -s;
      body = body.slice(1).trim();
    } else if (body.startsWith('+') && k === 0) body = body.slice(1).trim();
    let weight = 1;
    const star = body.indexOf('*');
    if (star >= 0) {
      const w = body.slice(0, star).trim();
      if (!NUMBER.test(w)) throw new FvizError(`objective '${text}': weight '${w}' is not a number (write 0.5*TENSOR:C)`);
      weight = Number(w);
      body = body.slice(star + 1).trim();
    }
    if (!body || /\s/.test(body))
      throw new FvizError(`objective '${text}': cannot read term '${tok}' (separate terms with ' + ' or ' - ')`);
    terms.push({ weight: s * weight, target: parseTarget(body, text) });
  }
  return { text: src, terms };
}

export function formatTarget(t: Target): string {
  switch (t.kind) {
    case 'class':
      return `class:${t.cls}`;
    case 'channel':
      return `${t.tensor}:${t.channel}`;
    case 'neuron':
      return `${t.tensor}:${t.channel}@${t.y},${t.x}`;
    case 'layer':
      return t.tensor;
  }
}
