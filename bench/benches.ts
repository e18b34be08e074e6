// Every bench, in the order `npm run bench` runs them. To add a line: write a Bench (see registry.ts)
// in its own file and put it here; it can read earlier lines (ctx.lines, ctx.peak()) and shared values.
import {
  forwardOnlyBench,
  generatorBench,
  generatorVjpBench,
  googlenetBench,
  peakBench,
  peakEndBench,
  rssBench,
} from './engine-benches.ts';
import { liveBench } from './live-bench.ts';
import { atlasBench } from './atlas-bench.ts';
import { qualityBench } from './quality.ts';
import type { Bench } from './registry.ts';
import { scanBench } from './scan-bench.ts';
import { demoCacheBench, dgnCacheBench, helpBench } from './startup-benches.ts';
import { targetsBench } from './targets.ts';
import { tfjsGooglenetBench } from './tfjs-benches.ts';
import { dgnStepBench, dgnStepTorchBench, fourierBench, robustBench } from './viz-benches.ts';

export const BENCHES: Bench[] = [
  peakBench, // (c) first: every ratio is taken against it
  googlenetBench, // (a)
  generatorBench, // (b)
  rssBench, // peak RSS of (a)+(b), before tfjs allocates anything
  forwardOnlyBench,
  generatorVjpBench,
  robustBench, // pixel-space steps/s and the work around the network
  fourierBench,
  dgnStepBench, // one DGN-AM step, generator -> crop -> classifier
  dgnStepTorchBench, // the same through the PyTorch-exported GoogLeNet
  tfjsGooglenetBench, // (d)
  scanBench, // dataset scan of a JPEG folder vs pre-decoded inference
  helpBench, // fviz --help of dist/ vs node -e 0
  dgnCacheBench, // first DGN-AM step, cold vs warm program cache
  demoCacheBench, // fviz demo end to end, cold vs warm program cache (only with --only democache)
  atlasBench, // atlas units/hour, batched vs one unit at a time
  qualityBench, // the learned priors' naturalness (only with --only quality)
  liveBench, // the live page's DGN-AM step, browser vs Node (only with --only live)
  peakEndBench, // drift check of (c)
  targetsBench, // summary, always last
];

/** The benches to run: those named (by key or line name) plus what they need, in registry order. */
export function selectBenches(only: string[] | undefined, all: Bench[] = BENCHES): Bench[] {
  if (!only) return all.filter((b) => !b.optIn);
  const byId = new Map<string, Bench>();
  for (const b of all) byId.set(b.key, b).set(b.name, b);
  const chosen = new Set<Bench>();
  const add = (id: string) => {
    const b = byId.get(id);
    if (!b) throw new Error(`unknown bench '${id}'; choose from ${all.map((x) => x.key).join(', ')}`);
    if (chosen.has(b)) return;
    chosen.add(b);
    for (const n of b.needs ?? []) add(n);
  };
  for (const id of only) add(id);
  if (byId.has('t')) add('t'); // the summary line, with nulls for what did not run
  return all.filter((b) => chosen.has(b));
}
