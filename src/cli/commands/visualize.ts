import { defaultGenerator } from '../../models/registry.ts';
import type { Argv } from 'yargs';
import type { CommandModule } from './types.ts';
import { FvizError } from '../../errors.ts';
import { visualizeDgn, visualizePixel, type VisualizeResult } from '../../optvis/render/visualize.ts';
import { visualizePpgn } from '../../optvis/render/visualize-ppgn.ts';
import { DATASET_METHODS, PIXEL_METHODS, type PixelMethod, type PixelOptions } from '../../optvis/render/pixel.ts';
import type { InputConvention } from '../../classifier/card.ts';
import type { RobustOptions } from '../../optvis/transforms/transforms.ts';
import { encodeImages } from '../../optvis/param/encode.ts';
import { averageSpectrum } from '../../dataset/spectrum.ts';
import { ProgressLine } from '../../util/progress.ts';

export const METHODS = ['dgn', 'ppgn', ...PIXEL_METHODS, ...DATASET_METHODS] as const;

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

export function inputOverrides(a: Record<string, unknown>): Partial<InputConvention> {
  const o: Partial<InputConvention> = {};
  if (a['channels']) o.channels = a['channels'] as 'RGB' | 'BGR';
  const range = numberList(a['range'] as string | undefined, '--range', 2);
  if (range) o.range = range as [number, number];
  const mean = numberList(a['mean'] as string | undefined, '--mean', 3);
  if (mean) o.mean = mean as [number, number, number];
  const std = numberList(a['std'] as string | undefined, '--std', 3);
  if (std) o.std = std as [number, number, number];
  const size = numberList(a['size'] as string | undefined, '--size');
  if (size) {
    if (size.length < 1 || size.length > 2 || size.some((s) => !Number.isInteger(s) || s < 1)) throw new FvizError(`--size '${a['size']}' must be H or H,W (positive integers)`);
    o.size = [size[0]!, size[1] ?? size[0]!];
  }
  return o;
}

export function progressReporter(label: string, steps: number) {
  const p = new ProgressLine(label, steps);
  return (info: { step: number; perItem: number[] }) => p.update(info.step + 1, `objective ${info.perItem.map((v) => v.toPrecision(4)).join(', ')}`);
}

export function printResult(r: VisualizeResult): void {
  const first = r.history[0]?.map((v) => v.toPrecision(5)).join(', ');
  console.log(`${r.record.method} ${r.record.objective.terms.join(' + ')}: objective ${first} -> ${r.final.map((v) => v.toPrecision(5)).join(', ')}`);
  console.log(`wrote ${r.outputs.length} files to ${r.outDir} (result.png, run.json${r.record.frames.length ? ', frames/' : ''})`);
}

export const visualizeCommand: CommandModule = (y) =>
  y.command(
    'visualize',
    'synthesize the preferred input of a unit: DGN-AM through a generator, or a pixel-space method',
    (c) =>
      inputOptions(
        c
          .option('model', { type: 'string', describe: 'classifier: .onnx path, embedded (default), googlenet, twin:googlenet, twin:googlenet-torch' })
          .option('generator', { type: 'string', describe: 'generator for --method dgn: .onnx path, embedded, dgn-fc6, twin:fc6-generator' })
          .option('objective', { type: 'string', demandOption: true, describe: 'what to maximize: class:K, TENSOR:C, TENSOR:C@Y,X, TENSOR, sums' })
          .option('method', { choices: METHODS, describe: 'dgn (with --generator) or a pixel-space method (default: dgn with a generator, else fourier)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
          .option('steps', { type: 'number', describe: 'optimization steps (dgn: the generator card, else 200; pixel: 256)' })
          .option('seed', { type: 'number', default: 0 })
          .option('batch', { type: 'number', default: 1, describe: 'optimize N images at once' })
          .option('frames', { type: 'string', describe: 'steps to save into OUT/frames, e.g. 0,4,48,2048' })
          .option('optimizer', { choices: ['adam', 'normalized', 'nguyen', 'nadam'] as const, describe: "adam, or Nguyen's normalized step (step / mean|g|)" })
          .option('lr', { type: 'number', describe: 'learning rate (adam) or start step size (normalized)' })
          .option('end-lr', { type: 'number', describe: 'normalized step: final step size (linear decay)' })
          .group(['l2', 'tv', 'blur-every', 'blur-sigma', 'bilateral-every', 'jitter', 'scale', 'rotate', 'param', 'decorrelate', 'diversity', 'diversity-layer', 'init-image'], 'pixel-space:')
          .option('l2', { type: 'number', describe: 'L2 penalty weight' })
          .option('tv', { type: 'number', describe: 'total-variation penalty weight' })
          .option('blur-every', { type: 'number', describe: 'Gaussian blur every K steps' })
          .option('blur-sigma', { type: 'number', describe: 'blur sigma in pixels' })
          .option('bilateral-every', { type: 'number', describe: 'bilateral filter every K steps' })
          .option('jitter', { type: 'number', describe: 'random jitter in px (turns on transformation robustness)' })
          .option('scale', { type: 'string', describe: 'random scale range A,B (e.g. 0.9,1.1)' })
          .option('rotate', { type: 'number', describe: 'random rotation within +-DEG' })
          .option('param', { choices: ['pixel', 'fourier'] as const, describe: 'parameterization' })
          .option('decorrelate', { type: 'boolean', describe: "Lucid's color decorrelation (Fourier parameterization)" })
          .option('diversity', { type: 'number', describe: "weight of Lucid's diversity term (needs --batch >= 2)" })
          .option('diversity-layer', { type: 'string', describe: 'layer whose Gram matrices the diversity term compares' })
          .option('init-image', { type: 'string', describe: 'start from this image (pixel methods), or encode it (dgn, with --encoder)' })
          .group(['start-step', 'end-step', 'code-l2', 'noise', 'init', 'init-std', 'encoder', 'mode', 'bounds', 'to-classifier'], 'DGN-AM:')
          .option('start-step', { type: 'number', describe: 'step size at step 0 (GoogLeNet: 2.0)' })
          .option('end-step', { type: 'number', describe: 'step size reached at the last step (GoogLeNet: 1e-10)' })
          .option('code-l2', { type: 'number', describe: 'multiply the code by this after every step (Nguyen: 0.99)' })
          .option('noise', { type: 'number', describe: 'Langevin-style noise std added to the code each step' })
          .option('init', { choices: ['zeros', 'random'] as const, describe: 'initial code (default random, N(0, init-std^2))' })
          .option('init-std', { type: 'number', describe: 'std of the random initial code' })
          .option('encoder', { type: 'string', describe: 'MODEL:TENSOR whose activations are the code of --init-image' })
          .option('mode', { choices: ['fused', 'chained'] as const, describe: 'one compiled program, or generator and classifier chained through TypeScript' })
          .option('bounds', { type: 'boolean', default: true, describe: "clip the code to the generator's bounds (--no-bounds: don't)" })
          .option('to-classifier', { choices: ['center-crop', 'resize'] as const, describe: 'how the generator output reaches the classifier input' })
          .group(['samples', 'every', 'eps1', 'eps2', 'eps3', 'code-layer'], 'PPGN:')
          .option('samples', { type: 'number', describe: 'ppgn: emit a chain of N samples (frames/), one every --every steps' })
          .option('every', { type: 'number', describe: 'ppgn: steps between chain samples' })
          .option('eps1', { type: 'number', describe: 'ppgn: weight of the prior term E(G(h)) - h' })
          .option('eps2', { type: 'number', describe: 'ppgn: weight of d log p(y|x) / dh' })
          .option('eps3', { type: 'number', describe: 'ppgn: noise std' })
          .option('code-layer', { type: 'string', describe: "ppgn: the classifier tensor the generator inverts (default: the generator card's encoder)" })
          .group(['dataset', 'transparency'], 'MaCo:')
          .option('dataset', { type: 'string', describe: "maco: cifar10 or an image folder whose average spectrum is the fixed magnitude (cached)" })
          .option('transparency', { type: 'boolean', describe: 'maco: also write transparency.png, the accumulated |gradient| per pixel' }),
      ),
    async (a) => {
      const method = (a.method as string | undefined) ?? (a.generator ? 'dgn' : 'fourier');
      const frames = numberList(a.frames as string | undefined, '--frames');
      if (frames?.some((f) => !Number.isInteger(f) || f < 0)) throw new FvizError(`--frames '${a.frames}' must be non-negative step numbers`);
      const batch = a.batch as number;
      if (!Number.isInteger(batch) || batch < 1) throw new FvizError(`--batch ${batch} must be a positive integer`);
      if (a.steps !== undefined && (!Number.isInteger(a.steps) || (a.steps as number) < 0)) throw new FvizError(`--steps ${a.steps} must be a non-negative integer`);
      const common = { out: a.out as string, device: a.device as 'cpu' | 'cuda', threads: a.threads as number | undefined, command: process.argv.slice(2).join(' ') };
      let result: VisualizeResult;
      if (method === 'ppgn') {
        const steps = a.steps as number | undefined;
        result = await visualizePpgn({
          ...common,
          model: a.model as string | undefined,
          generator: (a.generator as string | undefined) ?? defaultGenerator(a.model as string | undefined),
          objective: a.objective as string,
          steps,
          settings: { eps1: a.eps1 as number | undefined, eps2: a.eps2 as number | undefined, eps3: a.eps3 as number | undefined, lr: (a['start-step'] as number | undefined) ?? (a.lr as number | undefined), lrEnd: (a['end-step'] as number | undefined) ?? (a['end-lr'] as number | undefined) },
          samples: a.samples as number | undefined,
          every: a.every as number | undefined,
          codeLayer: a['code-layer'] as string | undefined,
          init: a.init as 'zeros' | 'random' | undefined,
          initStd: a['init-std'] as number | undefined,
          seed: a.seed as number,
          batch,
          frames,
          input: inputOverrides(a),
          toClassifier: a['to-classifier'] as 'center-crop' | 'resize' | undefined,
          noBounds: a.bounds === false,
          progress: progressReporter('ppgn', steps ?? 200),
        });
      } else if (method === 'dgn') {
        const generator = (a.generator as string | undefined) ?? defaultGenerator(a.model as string | undefined);
        if (!generator) throw new FvizError('--method dgn needs --generator (embedded, dgn-fc6, twin:fc6-generator, or an .onnx path) when --model is not the embedded classifier');
        let init: 'zeros' | 'random' | Float32Array | undefined = a.init as 'zeros' | 'random' | undefined;
        if (a['init-image']) {
          if (!a.encoder) throw new FvizError('--init-image with --method dgn needs --encoder MODEL:TENSOR (the layer the generator inverts)');
          init = await encodeImages(a.encoder as string, [a['init-image'] as string], { threads: common.threads });
        }
        const steps = a.steps as number | undefined;
        result = await visualizeDgn({
          ...common,
          model: a.model as string | undefined,
          generator,
          objective: a.objective as string,
          steps,
          startStep: (a['start-step'] as number | undefined) ?? (a.lr as number | undefined),
          endStep: (a['end-step'] as number | undefined) ?? (a['end-lr'] as number | undefined),
          l2: a['code-l2'] as number | undefined,
          optimizer: a.optimizer === 'adam' ? 'adam' : 'nguyen',
          lr: a.lr as number | undefined,
          noise: a.noise as number | undefined,
          init,
          initStd: a['init-std'] as number | undefined,
          seed: a.seed as number,
          batch,
          frames,
          mode: a.mode as 'fused' | 'chained' | undefined,
          input: inputOverrides(a),
          toClassifier: a['to-classifier'] as 'center-crop' | 'resize' | undefined,
          noBounds: a.bounds === false,
          progress: progressReporter('dgn', steps ?? 200),
          warn: (line) => console.error(`fviz: warning: ${line}`),
        });
      } else {
        const options: Partial<PixelOptions> = {
          steps: a.steps as number | undefined,
          seed: a.seed as number,
          batch,
          frames,
          lr: a.lr as number | undefined,
          endLr: a['end-lr'] as number | undefined,
          optimizer: a.optimizer === 'nguyen' ? 'normalized' : (a.optimizer as 'adam' | 'normalized' | 'nadam' | undefined),
          l2: a.l2 as number | undefined,
          tv: a.tv as number | undefined,
          blurEvery: a['blur-every'] as number | undefined,
          blurSigma: a['blur-sigma'] as number | undefined,
          bilateralEvery: a['bilateral-every'] as number | undefined,
          param: a.param as 'pixel' | 'fourier' | undefined,
          decorrelate: a.decorrelate as boolean | undefined,
          diversity: a.diversity as number | undefined,
          diversityLayer: a['diversity-layer'] as string | undefined,
          transparency: a.transparency as boolean | undefined,
        };
        const scale = numberList(a.scale as string | undefined, '--scale', 2);
        if (a.jitter !== undefined || scale || a.rotate !== undefined) {
          const robust: RobustOptions = {};
          if (a.jitter !== undefined) robust.jitter = a.jitter as number;
          if (scale) robust.scales = { min: scale[0]!, max: scale[1]! };
          if (a.rotate !== undefined) robust.rotate = { min: -(a.rotate as number), max: a.rotate as number };
          options.robust = robust;
        }
        result = await visualizePixel({
          ...common,
          model: a.model as string | undefined,
          objective: a.objective as string,
          method: method as PixelMethod,
          options,
          input: inputOverrides(a),
          initImage: a['init-image'] as string | undefined,
          spectrum: a.dataset ? (size) => averageSpectrum(a.dataset as string, size) : undefined,
          progress: progressReporter(method, (a.steps as number | undefined) ?? 256),
        });
      }
      printResult(result);
    },
  );
