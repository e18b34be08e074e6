// Specializing a model to the input size in use: the image input's layout, its dynamic axes (symbolic
// or unnamed dims, which the reader names `<input>_dim<k>`), fixing them to a batch and an image size,
// and the one-line explanation when a value still has no static shape.
import { FvizError } from '../errors.ts';
import type { Dim, Graph, Model, ValueInfo } from './ir.ts';
import { isStaticShape } from './ir.ts';

export type Layout = 'NCHW' | 'NHWC';

export interface ImageInput {
  name: string;
  layout: Layout;
  batch: Dim;
  channels: Dim;
  height: Dim;
  width: Dim;
}

function isChannelCount(d: Dim | undefined): boolean {
  return d === 1 || d === 3 || d === 4;
}

/** Where the channels of a 4-D input sit: NCHW unless only the last axis looks like channels. */
export function layoutOf(shape: Dim[]): Layout {
  if (shape.length !== 4) return 'NCHW';
  if (isChannelCount(shape[1])) return 'NCHW';
  if (isChannelCount(shape[3])) return 'NHWC';
  return 'NCHW';
}

/** The spatial axes (height, width) of a 4-D input in `layout`. */
export function spatialAxes(layout: Layout): [number, number] {
  return layout === 'NCHW' ? [2, 3] : [1, 2];
}

/** The model's image input (its only 4-D graph input), or undefined. */
export function imageInput(model: Model): ImageInput | undefined {
  const four = model.graph.inputs.filter((v) => v.shape.length === 4);
  if (four.length !== 1) return undefined;
  return describeImage(four[0]!);
}

/** Layout and named axes of a 4-D input. */
export function describeImage(v: ValueInfo): ImageInput {
  const layout = layoutOf(v.shape);
  const [h, w] = spatialAxes(layout);
  return { name: v.name, layout, batch: v.shape[0]!, channels: v.shape[layout === 'NCHW' ? 1 : 3]!, height: v.shape[h]!, width: v.shape[w]! };
}

/** Names of the image input's axes that are not fixed: 'batch', 'channels', 'height', 'width'. */
export function dynamicAxes(info: ImageInput): string[] {
  return (['batch', 'channels', 'height', 'width'] as const).filter((k) => typeof info[k] !== 'number');
}

/** The image input's static (height, width), or undefined when either is dynamic. */
export function staticSize(info: ImageInput): [number, number] | undefined {
  return typeof info.height === 'number' && typeof info.width === 'number' ? [info.height, info.width] : undefined;
}

/** The one line for an image input whose height or width is dynamic when no size was given. */
export function dynamicSizeError(shown: string, info: ImageInput, where = 'and no card'): FvizError {
  const axes = dynamicAxes(info).filter((a) => a === 'height' || a === 'width');
  return new FvizError(`model ${shown} has a dynamic input size (${axes.join(', ')}) ${where}: pass --size N (or H,W)`, { subject: shown });
}

/**
 * Fix the spatial dims of every 4-D graph input to `size` (height, width) where they are dynamic. A static
 * dim that differs from `size` is an error naming both.
 */
export function fixSpatialDims(model: Model, size: [number, number], source = 'model'): void {
  const g = model.graph;
  for (const input of g.inputs) {
    if (input.shape.length !== 4) continue;
    const axes = spatialAxes(layoutOf(input.shape));
    axes.forEach((a, k) => {
      const d = input.shape[a]!;
      if (typeof d === 'number' && d !== size[k])
        throw new FvizError(
          `${source} takes ${input.shape[axes[0]]}x${input.shape[axes[1]]} images (input '${input.name}' [${input.shape}]), not ${size[0]}x${size[1]}: drop --size or pass --size ${input.shape[axes[0]]},${input.shape[axes[1]]} (or correct the size in the model card)`,
          { subject: input.name },
        );
      input.shape[a] = size[k]!;
    });
    g.valueTypes.set(input.name, { dtype: input.dtype, shape: [...input.shape] });
  }
}

function dynamicInputs(g: Graph): ValueInfo[] {
  return g.inputs.filter((v) => !isStaticShape(v.shape));
}

/**
 * Why `value` has no static shape, as one line: a dynamic input size the user can give, or the node where
 * fviz's shape inference gave up on static inputs (a gap to report, not something the user can fix).
 */
export function noStaticShapeError(graph: Graph, value: string, what = `tensor '${value}'`): FvizError {
  const shape = graph.valueTypes.get(value)?.shape ?? [];
  const dyn = dynamicInputs(graph);
  if (dyn.length) {
    const v = dyn[0]!;
    const names = v.shape.filter((d) => typeof d !== 'number');
    const axes = v.shape.length === 4 ? dynamicAxes(describeImage(v)) : [];
    const label = axes.length ? axes.join(', ') : names.join(', ');
    const fix = axes.some((a) => a === 'height' || a === 'width') ? 'pass --size N (or H,W)' : 'give every input a static size';
    return new FvizError(`${what} has no static shape [${shape}] because input '${v.name}' [${v.shape}] has dynamic dims (${label}): ${fix}`, {
      subject: v.name,
    });
  }
  // Every input is static: find the first node whose output shape inference could not pin down.
  const types = graph.valueTypes;
  for (const n of graph.nodes) {
    const bad = n.outputs.find((o) => o && !isStaticShape(types.get(o)?.shape ?? ['?']));
    if (!bad) continue;
    const ins = n.inputs.filter((i) => i).map((i) => `[${types.get(i)?.shape ?? '?'}]`).join(', ');
    return new FvizError(
      `${what} has no static shape [${shape}]: fviz's shape inference gave up at node '${n.name}' (${n.opType}), which makes [${types.get(bad)?.shape ?? '?'}] from ${ins}; this is a gap in fviz, not in the model: please report it with the model`,
      { subject: n.name },
    );
  }
  return new FvizError(`${what} has no static shape [${shape}]`, { subject: value });
}
