// DeepDream (Mordvintsev et al. 2015) on a photo: gradient ascent on the mean of squares of a layer,
// over octaves (small to full size, the detail carried up between them), with a random circular
// jitter each step and Nguyen-style normalized steps (step / mean|g|).
import { basename } from 'node:path';
import { modelDigest, programCacheEnabled, programKey } from '../../runtime/program-cache.ts';
import { FvizError } from '../../errors.ts';
import { readModel } from '../../onnx/proto.ts';
import { prepareModel } from '../../onnx/prepare.ts';
import type { Model } from '../../onnx/ir.ts';
import { pruneGraph } from '../../autodiff/compile.ts';
import { ObjectiveGradient } from '../objectives/gradient.ts';
import { DISPLAY_INPUT, withDisplayInput, type Classifier } from '../../classifier/card.ts';
import { layoutOf } from '../../onnx/specialize.ts';
import { resolveTensor } from '../objectives/build.ts';
import type { SessionOptions } from '../../runtime/session.ts';
import { nchw, type Nchw, type Size2 } from '../../image/nchw.ts';
import { resize } from '../transforms/transforms.ts';
import { rolling } from '../transforms/index.ts';
import { pixelsOf } from '../param/pixels.ts';
import { render } from './loop.ts';
import type { Optimizer } from './optimizers.ts';
import { Rng } from '../../util/rng.ts';
import { DREAM_DEFAULTS } from './dream-defaults.ts';
export { DREAM_DEFAULTS };

export interface DreamOptions extends SessionOptions {
  /** Layer (tensor name or alias) whose mean of squares is maximized; an objective expression works too. */
  layer: string;
  octaves: number;
  octaveScale: number;
  stepsPerOctave: number;
  /** Step size in display units ([0,1]); Mordvintsev's 1.5 on a 0-255 scale is 1.5/255. */
  step: number;
  /** Max circular jitter in pixels. */
  jitter: number;
  seed: number;
  onStep?: (octave: number, step: number, value: number) => void;
}

/** The classifier cut at `layer`, taking display images of size `size` (fully convolutional up to there). */
export function networkUpTo(classifier: Classifier, layer: string, size: Size2): { model: Model; tensor: string } {
  const raw = readModel(classifier.modelPath);
  const input = raw.graph.inputs[0];
  if (!input || raw.graph.inputs.length !== 1) throw new FvizError(`${classifier.modelPath}: DeepDream needs a model with one image input`);
  // Resolve the layer on the model at its own size first (nearest-name errors come from there).
  const probe = prepareModel(raw, { batch: 1 });
  let aliases: Record<string, string> = { ...(classifier.card.aliases ?? {}) };
  try {
    aliases = { ...JSON.parse(raw.metadata['fviz.aliases'] ?? '{}'), ...aliases };
  } catch {
    /* ignore */
  }
  const tensor = resolveTensor(probe.graph, layer, aliases);
  const t = probe.graph.valueTypes.get(tensor)!;
  raw.graph.outputs = [{ name: tensor, dtype: t.dtype, shape: [] }];
  raw.graph.valueTypes = new Map();
  pruneGraph(raw.graph);
  const nhwc = input.shape.length === 4 && layoutOf(input.shape) === 'NHWC';
  raw.graph.inputs = [{ ...input, shape: nhwc ? [1, size[0], size[1], input.shape[3]!] : [1, input.shape[1] ?? 3, size[0], size[1]] }];
  let model: Model;
  try {
    model = prepareModel(raw, { batch: 1 });
  } catch (e) {
    throw new FvizError(`the network up to '${layer}' cannot take a ${size[0]}x${size[1]} image (${(e as Error).message}); use fewer octaves or a smaller --octave-scale`, { cause: e });
  }
  return { model: withDisplayInput(model, classifier.card.input), tensor };
}

function addInPlace(a: Float32Array, b: Float32Array, w = 1): void {
  for (let i = 0; i < a.length; i++) a[i]! += w * b[i]!;
}

/** Mordvintsev's step: x += step / mean|g| * g, then clip to [0, 1]; a step without a finite gradient is skipped. */
const dreamStep: Optimizer = {
  step(x, g, stepSize) {
    let sum = 0;
    for (const v of g) sum += Math.abs(v);
    if (!(sum > 0) || !Number.isFinite(sum)) return;
    addInPlace(x, g, stepSize / (sum / g.length));
    for (let i = 0; i < x.length; i++) x[i] = Math.min(1, Math.max(0, x[i]!));
  },
};

/** DeepDream of `image` ([1,3,H,W] in [0,1]); returns the dreamed image and the objective per octave. */
export async function deepDream(classifier: Classifier, image: Nchw, o: DreamOptions): Promise<{ image: Nchw; history: { octave: number; size: Size2; start: number; end: number }[] }> {
  const [, , H, W] = image.dims;
  const sizes: Size2[] = [];
  for (let k = o.octaves - 1; k >= 0; k--) {
    const f = o.octaveScale ** k;
    sizes.push([Math.max(1, Math.round(H / f)), Math.max(1, Math.round(W / f))]);
  }
  const rng = new Rng(o.seed);
  let detail: Nchw | undefined;
  let x: Nchw = image;
  const history: { octave: number; size: Size2; start: number; end: number }[] = [];
  for (let oct = 0; oct < sizes.length; oct++) {
    const size = sizes[oct]!;
    const base = size[0] === H && size[1] === W ? image : resize([H, W], size).apply(image);
    if (detail) detail = resize([detail.dims[2], detail.dims[3]], size).apply(detail);
    x = nchw(1, 3, size[0], size[1], base.data.slice());
    if (detail) addInPlace(x.data, detail.data);
    // Through the program cache: a hit skips cutting and preparing the network (the layer's tensor is the objective).
    const cacheKey = programCacheEnabled()
      ? programKey({ kind: 'dream', classifier: await modelDigest(classifier.modelPath), layer: o.layer, aliases: classifier.card.aliases, input: classifier.card.input, size })
      : undefined;
    const prog = await ObjectiveGradient.load(
      () => {
        const { model, tensor } = networkUpTo(classifier, o.layer, size);
        return { model, objective: tensor };
      },
      { objective: o.layer, wrt: [DISPLAY_INPUT], device: o.device, threads: o.threads, cacheKey, cacheLabel: `deepdream ${o.layer} on ${basename(classifier.modelPath)} at ${size[0]}x${size[1]}` },
    );
    let res;
    try {
      const maxJ = Math.min(o.jitter, size[0] - 1, size[1] - 1);
      res = await render({
        network: prog,
        param: pixelsOf(x, false),
        steps: o.stepsPerOctave,
        optimizer: dreamStep,
        stepSize: () => o.step,
        transforms: rolling(Math.max(0, maxJ)),
        rng,
        initial: false,
        onStep: (s, perItem) => o.onStep?.(oct, s, perItem[0]!),
      });
    } finally {
      await prog.release();
    }
    const start = o.stepsPerOctave > 0 ? res.history[0]![0]! : NaN;
    const end = res.final[0]!;
    history.push({ octave: oct, size, start, end });
    detail = nchw(1, 3, size[0], size[1], x.data.slice());
    addInPlace(detail.data, base.data, -1);
  }
  return { image: x, history };
}
