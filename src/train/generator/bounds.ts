// Code bounds for DGN-AM, as Nguyen et al. computed them for fc6: per code unit, the lower bound is 0 (the
// code is a ReLU output) and the upper bound a multiple (3) of the range the unit showed over the training
// set (its maximum, since the minimum of a ReLU unit is 0). Units never active get an upper bound of 0,
// so DGN-AM keeps them at 0 as the data did.
import { readFileSync } from 'node:fs';
import { FvizError } from '../../errors.ts';
import { writeAtomic } from '../../onnx/proto.ts';

/** Running per-unit minimum and maximum over batches of codes. */
export class CodeRange {
  readonly size: number;
  readonly min: Float32Array;
  readonly max: Float32Array;
  count = 0;

  constructor(size: number) {
    this.size = size;
    this.min = new Float32Array(size).fill(Infinity);
    this.max = new Float32Array(size).fill(-Infinity);
  }

  /** Adds `n` codes (rows of `size` values). */
  add(codes: Float32Array, n = codes.length / this.size): void {
    if (!Number.isInteger(n) || n * this.size > codes.length) throw new FvizError(`code batch of ${codes.length} values does not hold ${n} codes of ${this.size}`);
    for (let i = 0; i < n; i++)
      for (let k = 0; k < this.size; k++) {
        const v = codes[i * this.size + k]!;
        if (Number.isNaN(v)) throw new FvizError(`code unit ${k} of image ${this.count + i} is NaN`);
        if (v < this.min[k]!) this.min[k] = v;
        if (v > this.max[k]!) this.max[k] = v;
      }
    this.count += n;
  }
}

export interface CodeBounds {
  lower: Float32Array;
  upper: Float32Array;
}

/** Lower 0 and upper `multiple` x the observed range (max - min, with min taken as at most 0). */
export function codeBounds(range: CodeRange, multiple = 3): CodeBounds {
  if (range.count === 0) throw new FvizError('code bounds need at least one code');
  const lower = new Float32Array(range.size);
  const upper = new Float32Array(range.size);
  for (let k = 0; k < range.size; k++) upper[k] = multiple * Math.max(0, range.max[k]! - Math.min(0, range.min[k]!));
  return { lower, upper };
}

/** One number per line, as Nguyen's act_range files. */
export function formatBounds(values: Float32Array): string {
  return `${Array.from(values, (v) => String(v)).join('\n')}\n`;
}

export function writeBoundsFile(path: string, values: Float32Array): void {
  writeAtomic(path, formatBounds(values));
}

export function readBoundsFile(path: string): Float32Array {
  const values = readFileSync(path, 'utf8')
    .split(/[\s,]+/)
    .filter((s) => s.length > 0)
    .map(Number);
  if (values.some((v) => !Number.isFinite(v))) throw new FvizError(`bounds file '${path}' holds something that is not a number`, { subject: path });
  return Float32Array.from(values);
}
