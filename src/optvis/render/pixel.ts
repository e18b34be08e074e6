// Pixel-space feature visualization: the baselines the learned prior is judged against. A method is a
// row of the preset table (presets.ts) switching on pieces; every piece is also an option. The options,
// the pieces and the loop are in pixel-run.ts (also bundled into the live page); this file compiles the
// classifier with the objective for them.
import { ObjectiveGradient } from '../objectives/gradient.ts';
import { DISPLAY_INPUT, withDisplayInput, type ClassifierCard } from '../../classifier/card.ts';
import type { Model } from '../../onnx/ir.ts';
import { objectiveAst, type ObjectiveInput, type ObjectiveNames } from '../objectives/build.ts';
import type { SessionOptions } from '../../runtime/session.ts';

export { PIXEL_METHODS, DATASET_METHODS, methodPreset, type PixelMethod, type MethodName } from './presets.ts';
export { pixelOptions, robustForSize, runPixel, transparencyImage, type PixelOptions, type PixelResult } from './pixel-run.ts';

export interface PixelProgramOptions extends SessionOptions {
  /** Prepared classifier (batch fixed), or what makes it (called only when the program cache has no entry). */
  classifier: Model | (() => Model);
  card: ClassifierCard;
  objective: ObjectiveInput;
  names?: ObjectiveNames;
  diversity?: { weight: number; layer: string };
  /**
   * The program cache's key (runtime/program-cache.ts programKey of everything above); none: compiled every time,
   * and the compiled bytes stay available (ObjectiveGradient.compiledEntry: the live page loads them).
   */
  cacheKey?: string;
  cacheLabel?: string;
  /** The objective's masks as inputs, so the program can be retargeted (ObjectiveGradient.retarget); bypasses the cache. */
  masksAsInputs?: boolean;
}

/** The classifier on display images, compiled with the objective (and diversity); through the program cache with a key. */
export async function pixelNetwork(opts: PixelProgramOptions): Promise<ObjectiveGradient> {
  const { classifier, ...rest } = opts;
  const model = () => withDisplayInput(typeof classifier === 'function' ? classifier() : classifier, opts.card.input);
  const div = opts.diversity;
  const objective = div && div.weight !== 0 ? { ...objectiveAst(opts.objective), diversity: [{ layer: div.layer, weight: div.weight }] } : opts.objective;
  return ObjectiveGradient.load(model, { ...rest, objective, wrt: [DISPLAY_INPUT] });
}

