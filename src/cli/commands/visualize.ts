import { defineCommand } from './types.ts';
import { FvizError } from '../../errors.ts';
import type { VisualizeResult } from '../../optvis/render/visualize.ts';
import { METHODS } from '../../optvis/render/presets.ts';
import type { PixelOptions } from '../../optvis/render/pixel.ts';
import type { RobustOptions } from '../../optvis/transforms/transforms.ts';
import { ProgressLine } from '../../util/progress.ts';
import { MODEL_NAMES } from './models-arg.ts';
import { framesOption, inputOptions, inputOverrides, numberList, warn } from './options.ts';

/** 'dgn' and the rows of the method table, read when the command line is parsed (so registered methods count). */
export function methodChoices(): string[] {
  return [...new Set(['dgn', ...METHODS.keys()])];
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

export const visualizeCommand = defineCommand(
    'visualize',
    'synthesize the preferred input of a unit: DGN-AM through a generator, or a pixel-space method',
  (c) =>
    inputOptions(
        c
          .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
          .option('generator', { type: 'string', describe: 'generator for --method dgn: .onnx path, embedded, dgn-fc6, twin:fc6-generator' })
          .option('objective', { type: 'string', demandOption: true, describe: 'what to maximize: class:K, TENSOR:C, TENSOR:C@Y,X, TENSOR, sums' })
          .option('method', { choices: methodChoices(), describe: 'dgn (with --generator) or a pixel-space method (default: dgn with a generator, else fourier)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder' })
          .option('steps', { type: 'number', describe: 'optimization steps (dgn: the generator card, else 200; pixel: 256)' })
          .option('seed', { type: 'number', default: 0 })
          .option('batch', { type: 'number', default: 1, describe: 'optimize N images at once' })
          .option('frames', { type: 'string', describe: 'steps to save into OUT/frames, e.g. 0,4,48,2048' })
          .option('optimizer', { choices: ['adam', 'normalized', 'nguyen'] as const, describe: "adam, or Nguyen's normalized step (step / mean|g|)" })
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
          .group(['samples', 'every', 'eps1', 'eps2', 'eps3', 'eps3-end', 'code-layer'], 'PPGN:')
          .option('samples', { type: 'number', describe: 'ppgn: emit a chain of N samples (frames/), one every --every steps' })
          .option('every', { type: 'number', describe: 'ppgn: steps between chain samples' })
          .option('eps1', { type: 'number', describe: 'ppgn: weight of the prior term E(G(h)) - h' })
          .option('eps2', { type: 'number', describe: 'ppgn: weight of d log p(y|x) / dh' })
          .option('eps3', { type: 'number', describe: 'ppgn: noise std' })
          .option('eps3-end', { type: 'number', describe: 'ppgn: noise std at the last step (linear from --eps3)' })
          .option('code-layer', { type: 'string', describe: "ppgn: the classifier tensor the generator inverts (default: the generator card's encoder)" })
          .group(['dataset', 'transparency'], 'MaCo:')
          .option('dataset', { type: 'string', describe: 'maco: cifar10 or an image folder whose average spectrum is the fixed magnitude (cached)' })
          .option('transparency', { type: 'boolean', describe: 'maco: also write transparency.png, the accumulated |gradient| per pixel' }),
      ),
  async (a) => {
    const method = a.method ?? (a.generator ? 'dgn' : 'fourier');
    const frames = framesOption(a.frames);
    const batch = a.batch;
    if (!Number.isInteger(batch) || batch < 1) throw new FvizError(`--batch ${batch} must be a positive integer`);
    if (a.steps !== undefined && (!Number.isInteger(a.steps) || a.steps < 0)) throw new FvizError(`--steps ${a.steps} must be a non-negative integer`);
    const common = { out: a.out, device: a.device, threads: a.threads, command: process.argv.slice(2).join(' ') };
    const input = inputOverrides(a);
    let generator: string | undefined;
    if (method === 'dgn' || method === 'ppgn') {
      const { defaultGenerator } = await import('../../models/registry.ts');
      generator = a.generator ?? defaultGenerator(a.model);
      if (!generator) throw new FvizError(`--method ${method} needs --generator (embedded, dgn-fc6, twin:fc6-generator, or an .onnx path) when --model is not the embedded classifier`);
      if (a['init-image'] && !a.encoder) throw new FvizError('--init-image with --method dgn needs --encoder MODEL:TENSOR (the layer the generator inverts)');
    }
    // A typo in the objective fails here, before the model is prepared or the engine loaded.
    const { checkObjective } = await import('../../optvis/objectives/check.ts');
    checkObjective(a.model, a.objective, input);
    let result: VisualizeResult;
    if (method === 'ppgn' && generator !== undefined) {
      const { visualizePpgn } = await import('../../optvis/render/visualize-ppgn.ts');
      result = await visualizePpgn({
        ...common,
        model: a.model,
        generator,
        objective: a.objective,
        steps: a.steps,
        settings: { eps1: a.eps1, eps2: a.eps2, eps3: a.eps3, eps3End: a['eps3-end'], lr: a['start-step'] ?? a.lr, lrEnd: a['end-step'] ?? a['end-lr'] },
        samples: a.samples,
        every: a.every,
        codeLayer: a['code-layer'],
        init: a.init,
        initStd: a['init-std'],
        seed: a.seed,
        batch,
        frames,
        input,
        toClassifier: a['to-classifier'],
        noBounds: a.bounds === false,
        progress: progressReporter('ppgn', a.steps ?? 200),
      });
    } else if (generator !== undefined) {
      const [{ visualizeDgn }, { encodeImages }] = await Promise.all([import('../../optvis/render/visualize.ts'), import('../../optvis/param/encode.ts')]);
      let init: 'zeros' | 'random' | Float32Array | undefined = a.init;
      if (a['init-image'] && a.encoder) init = await encodeImages(a.encoder, [a['init-image']], { threads: common.threads });
      result = await visualizeDgn({
        ...common,
        model: a.model,
        generator,
        objective: a.objective,
        steps: a.steps,
        startStep: a['start-step'] ?? a.lr,
        endStep: a['end-step'] ?? a['end-lr'],
        l2: a['code-l2'],
        optimizer: a.optimizer === 'adam' ? 'adam' : 'nguyen',
        lr: a.lr,
        noise: a.noise,
        init,
        initStd: a['init-std'],
        seed: a.seed,
        batch,
        frames,
        mode: a.mode,
        input,
        toClassifier: a['to-classifier'],
        noBounds: a.bounds === false,
        progress: progressReporter('dgn', a.steps ?? 200),
        warn,
      });
    } else {
      const options: Partial<PixelOptions> = {
        steps: a.steps,
        seed: a.seed,
        batch,
        frames,
        lr: a.lr,
        endLr: a['end-lr'],
        optimizer: a.optimizer === 'nguyen' ? 'normalized' : a.optimizer,
        l2: a.l2,
        tv: a.tv,
        blurEvery: a['blur-every'],
        blurSigma: a['blur-sigma'],
        bilateralEvery: a['bilateral-every'],
        param: a.param,
        decorrelate: a.decorrelate,
        diversity: a.diversity,
        diversityLayer: a['diversity-layer'],
        transparency: a.transparency,
      };
      const scale = numberList(a.scale, '--scale', 2);
      if (a.jitter !== undefined || scale || a.rotate !== undefined) {
        const robust: RobustOptions = {};
        if (a.jitter !== undefined) robust.jitter = a.jitter;
        if (scale) robust.scales = { min: scale[0]!, max: scale[1]! };
        if (a.rotate !== undefined) robust.rotate = { min: -a.rotate, max: a.rotate };
        options.robust = robust;
      }
      const { visualizePixel } = await import('../../optvis/render/visualize.ts');
      const dataset = a.dataset;
      result = await visualizePixel({
        ...common,
        model: a.model,
        objective: a.objective,
        method,
        options,
        input,
        initImage: a['init-image'],
        spectrum: dataset === undefined ? undefined : async (size) => (await import('../../analysis/spectrum.ts')).averageSpectrum(dataset, size),
        progress: progressReporter(method, a.steps ?? 256),
      });
    }
    printResult(result);
  },
);
