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
import { cachedTfjsPath } from '../tfjs/files.ts';

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

/** The cached ONNX conversion of a TensorFlow.js model.json (the CLI converts `--model X.json` before any command runs). */
function tfjsConverted(jsonPath: string): string {
  const { path, exists } = cachedTfjsPath(jsonPath, modelsCacheDir());
  if (!exists) throw new FvizError(`${jsonPath} has not been converted yet: run fviz models convert-tfjs ${jsonPath} OUT.onnx and pass OUT.onnx, or pass the model.json to an fviz command (it converts on the fly)`, { subject: jsonPath });
  return path;
}

/**
 * A classifier by path or name ('embedded', 'embedded-judge' (the independent VGG-style CIFAR-10 classifier
 * that scores the embedded pair's images), 'googlenet', 'twin:googlenet', 'twin:googlenet-torch').
 */
export function resolveClassifier(spec: string | undefined, overrides: Partial<InputConvention> = {}): Classifier {
  const name = spec ?? 'embedded';
  if (name === 'embedded') {
    const p = join(EMBEDDED_DIR, 'classifier.onnx');
    if (!existsSync(p)) throw new FvizError(`the embedded classifier ${p} is missing: pass --model MODEL.onnx`, { subject: p });
    return openClassifier(p, overrides);
  }
  if (name === 'embedded-judge') {
    const p = join(EMBEDDED_DIR, 'judge.onnx');
    if (!existsSync(p)) throw new FvizError(`the embedded judge ${p} is missing: pass --judge MODEL.onnx`, { subject: p });
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
  if (name.endsWith('.json')) return openClassifier(tfjsConverted(name), overrides);
  if (!name.endsWith('.onnx') && !existsSync(name))
    throw new FvizError(`unknown model '${name}': give a path to an .onnx file or a TensorFlow.js model.json, or one of embedded, embedded-judge, googlenet, twin:googlenet, twin:googlenet-torch, or a name fviz models list shows`, { subject: name });
  return openClassifier(name, overrides);
}

/**
 * The ONNX file behind any model argument, for commands that read the graph itself (inspect, doctor, grad):
 * the same names as --model and --generator (embedded, googlenet, dgn-fc6, the twins, added models, a converted
 * TensorFlow.js model.json) or a path.
 */
export function resolveModelFile(spec: string): string {
  switch (spec) {
    case 'embedded':
    case 'twin:googlenet':
    case 'twin:googlenet-torch':
    case 'googlenet':
      return resolveClassifier(spec).modelPath;
    case 'twin:fc6-generator':
    case 'dgn-fc6':
      return resolveGenerator(spec).modelPath;
  }
  const added = addedModelPath(spec);
  if (added) return added;
  if (spec.endsWith('.json')) return tfjsConverted(spec);
  if (!spec.endsWith('.onnx') && !existsSync(spec))
    throw new FvizError(`unknown model '${spec}': give a path to an .onnx file or a TensorFlow.js model.json, or one of embedded, googlenet, dgn-fc6, twin:googlenet, twin:googlenet-torch, twin:fc6-generator, or a name fviz models list shows`, { subject: spec });
  return spec;
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
