// Option groups and parsers several commands share. Light on purpose: every command module imports it.
import type { Argv } from 'yargs';
import { FvizError } from '../../errors.ts';
import type { InputConvention } from '../../classifier/card.ts';

export function numberList(text: string | undefined, what: string, count?: number): number[] | undefined {
  if (text === undefined) return undefined;
  const v = String(text)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (v.some((x) => !Number.isFinite(x))) throw new FvizError(`${what} '${text}' must be numbers separated by commas`);
  if (count !== undefined && v.length !== count) throw new FvizError(`${what} '${text}' needs ${count} numbers`);
  return v;
}

/** --channels --range --mean --std --size: overrides of the classifier card's input convention. */
export function inputOptions<T>(y: Argv<T>) {
  return y
    .option('channels', { choices: ['RGB', 'BGR'] as const, describe: 'channel order the classifier expects (default: its card)' })
    .option('range', { type: 'string', describe: 'pixel range before mean/std, e.g. 0,255' })
    .option('mean', { type: 'string', describe: 'per-channel mean, e.g. 104,117,123' })
    .option('std', { type: 'string', describe: 'per-channel std' })
    .option('size', { type: 'string', describe: 'classifier input size H or H,W' });
}

export interface InputArgs {
  channels?: 'RGB' | 'BGR' | undefined;
  range?: string | undefined;
  mean?: string | undefined;
  std?: string | undefined;
  size?: string | undefined;
}

/** --size H or H,W as [H, W]. */
export function sizeOption(text: string | undefined): [number, number] | undefined {
  const size = numberList(text, '--size');
  if (!size) return undefined;
  if (size.length < 1 || size.length > 2 || size.some((s) => !Number.isInteger(s) || s < 1)) throw new FvizError(`--size '${text}' must be H or H,W (positive integers)`);
  return [size[0]!, size[1] ?? size[0]!];
}

export function inputOverrides(a: InputArgs): Partial<InputConvention> {
  const o: Partial<InputConvention> = {};
  if (a.channels) o.channels = a.channels;
  const range = numberList(a.range, '--range', 2);
  if (range) o.range = [range[0]!, range[1]!];
  const mean = numberList(a.mean, '--mean', 3);
  if (mean) o.mean = [mean[0]!, mean[1]!, mean[2]!];
  const std = numberList(a.std, '--std', 3);
  if (std) o.std = [std[0]!, std[1]!, std[2]!];
  const size = sizeOption(a.size);
  if (size) o.size = size;
  return o;
}

/** --frames: non-negative step numbers. */
export function framesOption(text: string | undefined): number[] | undefined {
  const frames = numberList(text, '--frames');
  if (frames?.some((f) => !Number.isInteger(f) || f < 0)) throw new FvizError(`--frames '${text}' must be non-negative step numbers`);
  return frames;
}

/** A line on stderr for each warning. */
export const warn = (line: string) => console.error(`fviz: warning: ${line}`);
