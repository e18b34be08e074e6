// The one optimization loop: a parameterization renders an image, a random transform (robustness)
// shows it to the network, the objective's gradient comes back through the transform's adjoint, minus
// the penalties' gradients (each weighted relative to the objective's pull), through the
// parameterization to its values; the optimizer steps them; every k steps the filters edit the pixels.
// A fused parameterization (DGN-AM: generator and classifier in one program) evaluates itself: the
// loop only steps its values.
import { FvizError } from '../../errors.ts';
import type { Nchw, Size2 } from '../../image/nchw.ts';
import { DISPLAY_INPUT } from '../../classifier/display-input.ts';
import type { Rng } from '../../util/rng.ts';
import type { GradientProgram } from '../objectives/program-run.ts';
import type { FusedParam, Param } from '../param/param.ts';
import type { Filter, Penalty } from '../penalties/penalty.ts';
import type { TransformSampler } from '../transforms/index.ts';
import type { Optimizer } from './optimizers.ts';

export interface RenderSpec {
  /** The classifier on display images with the objective, compiled (ObjectiveGradient on DISPLAY_INPUT); none for a fused param. */
  network?: GradientProgram;
  param: Param | FusedParam;
  steps: number;
  optimizer: Optimizer;
  /** Step size of step i. */
  stepSize: (i: number) => number;
  /** This step's random transform (drawn from `rng`); none: the image as it is. */
  transforms?: TransformSampler;
  rng?: Rng;
  penalties?: readonly Penalty[];
  filters?: readonly Filter[];
  /** Steps whose image is kept (step `steps` is the final image). */
  frames?: readonly number[];
  /** Evaluate the starting image before the first step (default true). */
  initial?: boolean;
  onStep?: (step: number, perItem: number[]) => void;
}

export interface RenderResult {
  image: Nchw;
  /** Objective per item at each step (on the transformed image), then the final (untransformed) value. */
  history: number[][];
  /** Objective per item of the starting image, untransformed (empty when not asked). */
  initial: number[];
  final: number[];
  frames: Map<number, Nchw>;
  /** Applications of each filter by name, and `clipped`: pixels clipped in all. */
  filters: Record<string, number>;
  timing: { networkMs: number; aroundMs: number };
}

function meanAbs(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
  return s / a.length;
}

/** a -= w * pull / mean|b| * b */
function subRelative(a: Float32Array, b: Float32Array, w: number, pull: number): void {
  const m = meanAbs(b);
  if (!(m > 0) || !(pull > 0)) return;
  const k = (w * pull) / m;
  for (let i = 0; i < a.length; i++) a[i]! -= k * b[i]!;
}

const copy = (x: Nchw): Nchw => ({ ...x, data: x.data.slice() });

export async function render(spec: RenderSpec): Promise<RenderResult> {
  if ('evaluate' in spec.param) return renderFused(spec, spec.param);
  const { network, param, optimizer } = spec;
  if (!network) throw new FvizError('internal: the render loop needs a network for an image parameterization');
  const penalties = (spec.penalties ?? []).filter((p) => p.weight);
  const filterList = param.pixels ? (spec.filters ?? []) : [];
  const frameSet = new Set(spec.frames ?? []);
  const frames = new Map<number, Nchw>();
  const history: number[][] = [];
  const counts: Record<string, number> = {};
  for (const f of filterList) counts[f.name] = 0;
  let networkMs = 0;
  let aroundMs = 0;
  const evaluate = async (img: Nchw) => (await network.run({ [DISPLAY_INPUT]: img })).perItem;
  let current = await param.render();
  const [N, , H, W] = current.dims;
  const size: Size2 = [H, W];
  const initial = spec.initial === false ? [] : await evaluate(current);
  for (let i = 0; i < spec.steps; i++) {
    const t0 = performance.now();
    if (frameSet.has(i)) frames.set(i, copy(current));
    const T = spec.transforms ? spec.transforms(spec.rng!, size) : undefined;
    const seen = T ? T.apply(current) : current;
    const t1 = performance.now();
    const r = await network.run({ [DISPLAY_INPUT]: seen });
    const t2 = performance.now();
    history.push(r.perItem);
    spec.onStep?.(i, r.perItem);
    const gSeen = r.grads.get(DISPLAY_INPUT)!;
    const g: Nchw = T ? T.adjoint({ dtype: 'float32', dims: [N, 3, ...T.outSize] as [number, number, number, number], data: gSeen.data as Float32Array }) : { dtype: 'float32', dims: [N, 3, H, W], data: (gSeen.data as Float32Array).slice() };
    // Penalty weights are relative to the objective's pull: weight 1 makes the penalty's mean |gradient|
    // equal the objective's, so a preset means the same on any model and unit.
    if (penalties.length) {
      const pull = meanAbs(g.data);
      for (const p of penalties) {
        const pg = p.gradient(current).data;
        if (p.absolute) for (let k = 0; k < g.data.length; k++) g.data[k]! -= p.weight * pg[k]!;
        else subRelative(g.data, pg, p.weight, pull);
      }
    }
    const gParam = await param.backward(g);
    optimizer.step(param.values, gParam, spec.stepSize(i));
    param.afterStep?.();
    const pixels = param.pixels;
    if (pixels)
      for (const f of filterList) {
        if ((i + 1) % f.every !== 0) continue;
        const out = f.apply(pixels, g);
        pixels.data.set(out.image.data);
        counts[f.name] = (counts[f.name] ?? 0) + 1;
        if (out.clipped !== undefined) counts['clipped'] = (counts['clipped'] ?? 0) + out.clipped;
      }
    current = await param.render();
    // The parameterization, transforms, penalties and filters are the work around the network.
    networkMs += t2 - t1;
    aroundMs += t1 - t0 + (performance.now() - t2);
  }
  if (frameSet.has(spec.steps)) frames.set(spec.steps, copy(current));
  const final = await evaluate(current);
  history.push(final);
  await param.release?.();
  return { image: copy(current), history, initial, final, frames, filters: counts, timing: { networkMs, aroundMs } };
}

/** The loop for a parameterization that evaluates itself: evaluate, step the values, repeat. */
async function renderFused(spec: RenderSpec, param: FusedParam): Promise<RenderResult> {
  if (spec.network || spec.transforms || spec.penalties?.length || spec.filters?.length)
    throw new FvizError('a fused parameterization (generator and classifier in one program) takes no separate network, transforms, penalties or filters');
  const frameSet = new Set(spec.frames ?? []);
  const frames = new Map<number, Nchw>();
  const history: number[][] = [];
  let networkMs = 0;
  let aroundMs = 0;
  let initial: number[] = [];
  for (let i = 0; i < spec.steps; i++) {
    const t0 = performance.now();
    const e = await param.evaluate();
    const t1 = performance.now();
    if (i === 0 && spec.initial !== false) initial = e.perItem;
    history.push(e.perItem);
    if (frameSet.has(i)) frames.set(i, copy(e.image));
    spec.onStep?.(i, e.perItem);
    spec.optimizer.step(param.values, e.grad, spec.stepSize(i));
    networkMs += t1 - t0;
    aroundMs += performance.now() - t1;
  }
  const last = await param.evaluate();
  if (spec.steps === 0 && spec.initial !== false) initial = last.perItem;
  history.push(last.perItem);
  if (frameSet.has(spec.steps)) frames.set(spec.steps, copy(last.image));
  await param.release?.();
  return { image: copy(last.image), history, initial, final: last.perItem, frames, filters: {}, timing: { networkMs, aroundMs } };
}
