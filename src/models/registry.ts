// Model names a user can pass instead of paths: the embedded default pair, fetched real models,
// and the architecture twins (random weights, for tests and benches).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { FvizError } from '../errors.ts';
import { openClassifier, type Classifier, type InputConvention } from '../classifier/card.ts';
import { openGenerator, type Generator } from '../generator/card.ts';
import { repoRoot, sharedDir } from '../shared-path.ts';
import { twinPath } from '../twins/cache.ts';
import { installedModelFile } from './installed.ts';

export const EMBEDDED_DIR = join(repoRoot, 'models', 'embedded');

/** Where fetched models are installed: $FVIZ_MODELS, else $XDG_CACHE_HOME/fviz/models, else ~/.cache/fviz/models. */
export function modelsCacheDir(): string {
  if (process.env['FVIZ_MODELS']) return resolve(process.env['FVIZ_MODELS']);
  const xdg = process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache');
  return join(xdg, 'fviz', 'models');
}

const CAFFE_INPUT: Omit<InputConvention, 'size'> = { channels: 'BGR', range: [0, 255], mean: [104, 117, 123], std: [1, 1, 1] };

function imagenetLabels(): string[] | string | undefined {
  const p = join(sharedDir(), 'reference', 'imagenet-synset-words.txt');
  return existsSync(p) ? p : undefined;
}

function fetchedPath(name: string, file: string): string {
  const p = join(modelsCacheDir(), name, file);
  if (!existsSync(p)) throw new FvizError(`model '${name}' is not installed: run fviz models fetch ${name} (or fviz models add FILE)`, { subject: name });
  return p;
}

/** A model installed under its own name by `fviz models add FILE --as NAME` (a name, not a path). */
function addedModelPath(name: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.endsWith('.onnx') || existsSync(name)) return undefined;
  return installedModelFile(join(modelsCacheDir(), name));
}

/** A classifier by path or name ('embedded', 'googlenet', 'twin:googlenet', 'twin:googlenet-torch'). */
export function resolveClassifier(spec: string | undefined, overrides: Partial<InputConvention> = {}): Classifier {
  const name = spec ?? 'embedded';
  if (name === 'embedded') {
    const p = join(EMBEDDED_DIR, 'classifier.onnx');
    if (!existsSync(p)) throw new FvizError(`the embedded classifier ${p} is missing: pass --model MODEL.onnx`, { subject: p });
    return openClassifier(p, overrides);
  }
  if (name === 'twin:googlenet') {
    return openClassifier(twinPath('googlenet'), overrides, {
      name: 'googlenet twin (random weights)',
      input: { ...CAFFE_INPUT, size: [224, 224] },
      preSoftmax: 'loss3/classifier',
      labels: imagenetLabels(),
    });
  }
  if (name === 'twin:googlenet-torch') {
    return openClassifier(twinPath('googlenet-torch'), overrides, {
      name: 'googlenet twin as PyTorch exports it (random weights)',
      input: { ...CAFFE_INPUT, size: [224, 224] },
      preSoftmax: 'logits',
      labels: imagenetLabels(),
    });
  }
  if (name === 'googlenet') return openClassifier(fetchedPath('googlenet', 'googlenet.onnx'), overrides);
  const added = addedModelPath(name);
  if (added) return openClassifier(added, overrides);
  if (!name.endsWith('.onnx') && !existsSync(name))
    throw new FvizError(`unknown model '${name}': give a path to an .onnx file, or one of embedded, googlenet, twin:googlenet, twin:googlenet-torch, or a name fviz models list shows`, { subject: name });
  return openClassifier(name, overrides);
}

/**
 * The generator to use when none is named: the embedded generator beside the embedded classifier (it inverts
 * that classifier's code layer), none beside any other model.
 */
export function defaultGenerator(model: string | undefined): string | undefined {
  return model === undefined || model === 'embedded' ? 'embedded' : undefined;
}

/** A generator by path or name ('embedded', 'dgn-fc6', 'twin:fc6-generator'). */
export function resolveGenerator(spec: string): Generator {
  if (spec === 'embedded') {
    const p = join(EMBEDDED_DIR, 'generator.onnx');
    if (!existsSync(p)) throw new FvizError(`the embedded generator ${p} is missing: pass --generator MODEL.onnx`, { subject: p });
    return openGenerator(p);
  }
  if (spec === 'twin:fc6-generator') {
    const bounds = join(sharedDir(), 'reference', 'dgn-fc6-act-range-3x.txt');
    return openGenerator(twinPath('fc6-generator'), {
      name: 'fc6 generator twin (random weights)',
      codeSize: 4096,
      output: { ...CAFFE_INPUT },
      toClassifier: 'center-crop',
      // Nguyen's schedule, but the random-weight twin's codes live at N(0,1) scale, not fc6's: a
      // smaller first step (2.0 overshoots there; measured: the objective falls on step 1, then recovers).
      dgn: { steps: 200, startStep: 0.1, endStep: 1e-10, l2: 0.99 },
      ...(existsSync(bounds) ? { bounds: { lower: 0, upper: bounds } } : {}),
    });
  }
  if (spec === 'dgn-fc6') return openGenerator(fetchedPath('dgn-fc6', 'generator.onnx'));
  const added = addedModelPath(spec);
  if (added) return openGenerator(added);
  if (!spec.endsWith('.onnx') && !existsSync(spec))
    throw new FvizError(`unknown generator '${spec}': give a path to an .onnx file, or one of embedded, dgn-fc6, twin:fc6-generator, or a name fviz models list shows`, { subject: spec });
  return openGenerator(spec);
}
