// The registry of gradient rules: one module per op (or per family of ops sharing a rule).
import type { GradRule } from '../context.ts';
import { Add } from './Add.ts';
import { Identity } from './Identity.ts';
import { Mul } from './Mul.ts';
import { ReduceMean } from './ReduceMean.ts';
import { ReduceSum } from './ReduceSum.ts';
import { Relu } from './Relu.ts';
import { Reshape } from './Reshape.ts';
import { Sub } from './Sub.ts';

export const rules: Record<string, GradRule> = {
  Add,
  Sub,
  Mul,
  Identity,
  Dropout: Identity,
  Relu,
  ReduceSum,
  ReduceMean,
  Reshape,
  Flatten: Reshape,
  Squeeze: Reshape,
  Unsqueeze: Reshape,
};

/** Ops the gradient compiler covers, sorted. */
export function supportedOps(): string[] {
  return Object.keys(rules).sort();
}
