// fviz models convert-caffe DEPLOY.prototxt WEIGHTS.caffemodel OUT.onnx
import { defineCommand } from './types.ts';

/** The `convert-caffe` subcommand, for whichever `models` parent command registers it. */
export const convertCaffeSubcommand = defineCommand(
  'convert-caffe <deploy> <weights> <out>',
  'convert a Caffe deploy prototxt and its caffemodel (V2 or legacy V1) to ONNX',
  (c) =>
    c
      .positional('deploy', { type: 'string', demandOption: true, describe: 'deploy .prototxt (not train_val)' })
      .positional('weights', { type: 'string', demandOption: true, describe: ".caffemodel, or 'random' for seeded He-scaled random weights" })
      .positional('out', { type: 'string', demandOption: true, describe: 'ONNX file to write' })
      .option('batch', { type: 'number', describe: "batch size of the converted graph (default: the prototxt's)" })
      .option('seed', { type: 'number', default: 0, describe: "seed of the weights when WEIGHTS is 'random'" })
      .option('json', { type: 'boolean', describe: 'print the summary as JSON' }),
  async (a) => {
    const weights = a.weights === 'random' ? undefined : a.weights;
    const { convertCaffeFiles } = await import('../../caffe/convert.ts');
    const t0 = performance.now();
    const r = convertCaffeFiles(a.deploy, weights, a.out, { batch: a.batch, seed: a.seed });
    const g = r.model.graph;
    const summary = {
      out: a.out,
      nodes: r.layers,
      parameters: r.parameters,
      inputs: g.inputs.map((i) => ({ name: i.name, shape: i.shape })),
      outputs: g.outputs.map((o) => ({ name: o.name, shape: o.shape })),
      weights: r.model.metadata['fviz.weights'],
      seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
    };
    if (a.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    const fmt = (v: { name: string; shape: unknown[] }) => `${v.name} [${v.shape.join('x')}]`;
    console.log(`wrote ${summary.out}: ${summary.nodes} nodes, ${(summary.parameters / 1e6).toFixed(2)} M parameters (${summary.weights}), ${summary.seconds} s`);
    console.log(`  inputs:  ${summary.inputs.map(fmt).join(', ')}`);
    console.log(`  outputs: ${summary.outputs.map(fmt).join(', ')}`);
  },
);
