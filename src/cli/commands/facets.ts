import { defineCommand } from './types.ts';
import { FvizError } from '../../errors.ts';
import type { FacetMethod } from '../../analysis/facets.ts';
import { PIXEL_METHODS } from '../../optvis/render/presets.ts';
import { MODEL_NAMES } from './models-arg.ts';
import { scanCheckpointOptions, scanRunOptions, skippedWarning } from './examples.ts';
import { inputOptions, inputOverrides } from './options.ts';

/** dgn and the pixel methods that start from an image (fourier does not). */
const FACET_METHODS: FacetMethod[] = ['dgn', ...PIXEL_METHODS.filter((m) => m !== 'fourier')];

export const facetsCommand = defineCommand(
  'facets',
  "multifaceted visualization: cluster a unit's top dataset images and optimize once from each cluster",
  (c) =>
    inputOptions(
      scanCheckpointOptions(
        c
          .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
          .option('generator', { type: 'string', describe: 'generator for DGN-AM facets (from encoded codes): .onnx path, embedded, dgn-fc6, twin:fc6-generator' })
          .option('encoder', { type: 'string', describe: "MODEL:TENSOR whose activations are the generator's code (default: the generator card's encoder)" })
          .option('method', { choices: FACET_METHODS, describe: 'dgn (with --generator), else a pixel-space method started from the images (default tv)' })
          .option('objective', { type: 'string', demandOption: true, describe: 'the unit: class:K, TENSOR:C, TENSOR:C@Y,X, sums' })
          .option('dataset', { type: 'string', demandOption: true, describe: 'a folder of images (recursive), a CIFAR-10 binary folder, or cifar10 (its test split)' })
          .option('k', { type: 'number', default: 4, describe: 'facets (k-means clusters)' })
          .option('top', { type: 'number', default: 50, describe: "the unit's top images to cluster" })
          .option('embed-layer', { type: 'string', describe: "layer whose activations embed the images (default: the layer before the logits for class objectives, else the objective's layer)" })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder: facets.png, facets.json, run.json, facet-K/' })
          .option('steps', { type: 'number', describe: 'optimization steps per facet' })
          .option('lr', { type: 'number', describe: 'learning rate (pixel methods) or start step size (dgn)' })
          .option('seed', { type: 'number', default: 0 })
          .option('batch', { type: 'number', default: 16, describe: 'images per inference batch in the scan' })
          .option('examples', { type: 'number', default: 8, describe: 'dataset images shown beside each facet' }),
      ),
    ),
  async (a) => {
    if (a.steps !== undefined && (!Number.isInteger(a.steps) || a.steps < 0)) throw new FvizError(`--steps ${a.steps} must be a non-negative integer`);
    const lr = a.lr;
    const input = inputOverrides(a);
    const { checkObjective } = await import('../../optvis/objectives/check.ts');
    checkObjective(a.model, a.objective, input);
    const run = scanRunOptions(a);
    const { multifacetedVisualization } = await import('../../analysis/facets.ts');
    const r = await multifacetedVisualization({
      model: a.model,
      generator: a.generator,
      encoder: a.encoder,
      method: a.method,
      objective: a.objective,
      dataset: a.dataset,
      k: a.k,
      top: a.top,
      embedLayer: a['embed-layer'],
      out: a.out,
      steps: a.steps,
      seed: a.seed,
      batch: a.batch,
      examples: a.examples,
      pixel: lr !== undefined ? { lr } : undefined,
      dgn: lr !== undefined ? { startStep: lr } : undefined,
      input,
      onFacet: (f, k) => process.stderr.write(`facet ${f + 1}/${k} ...\n`),
      ...run,
    });
    const warning = skippedWarning(r.record.dataset.skipped);
    if (warning) console.error(`fviz: warning: ${warning.replace('index.json', 'facets.json')}`);
    const rec = r.record;
    for (const c of rec.clusters)
      console.log(`facet ${c.facet}: ${c.size} images, from ${c.seed.file}: objective ${c.initial.toPrecision(4)} -> ${c.final.toPrecision(4)}`);
    console.log(`wrote ${rec.k} facets of ${rec.objective} (${rec.method}, top ${rec.top} images embedded by ${rec.embedLayer}) to ${r.outDir}: facets.png, facets.json, run.json`);
  },
);
