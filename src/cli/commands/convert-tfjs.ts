// fviz models convert-tfjs MODEL.json OUT.onnx
import { defineCommand } from './types.ts';

/** The `convert-tfjs` subcommand, for whichever `models` parent command registers it. */
export const convertTfjsSubcommand = defineCommand(
  'convert-tfjs <model> <out>',
  'convert a TensorFlow.js LayersModel (model.json + weight shards) to ONNX, with a card beside it',
  (c) =>
    c
      .positional('model', { type: 'string', demandOption: true, describe: 'model.json of a LayersModel (model.save() or tensorflowjs_converter output)' })
      .positional('out', { type: 'string', demandOption: true, describe: 'ONNX file to write (OUT.card.json is written beside it)' })
      .option('json', { type: 'boolean', describe: 'print the summary as JSON' }),
  async (a) => {
    // tfjs loads only here, so other commands start as fast as before.
    const { convertTfjsFiles } = await import('../../tfjs/files.ts');
    const t0 = performance.now();
    const r = await convertTfjsFiles(a.model, a.out);
    const g = r.model.graph;
    const summary = {
      out: a.out,
      card: r.cardPath,
      layers: r.layers,
      nodes: g.nodes.length,
      parameters: r.parameters,
      inputs: g.inputs.map((i) => ({ name: i.name, shape: i.shape })),
      outputs: g.outputs.map((o) => ({ name: o.name, shape: o.shape })),
      inputConvention: r.card.input,
      labels: Array.isArray(r.card.labels) ? r.card.labels.length : 0,
      sha256: r.sha256,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(2)),
    };
    if (a.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    const fmt = (v: { name: string; shape: unknown[] }) => `${v.name} [${v.shape.join('x')}]`;
    const inp = r.card.input;
    console.log(`wrote ${summary.out}: ${summary.layers} layers as ${summary.nodes} nodes, ${summary.parameters >= 1e6 ? `${(summary.parameters / 1e6).toFixed(2)} M` : summary.parameters} parameters, ${summary.seconds} s`);
    console.log(`  inputs:  ${summary.inputs.map(fmt).join(', ')} (channels last; transposed to NCHW inside)`);
    console.log(`  outputs: ${summary.outputs.map(fmt).join(', ')}`);
    console.log(`  card:    ${summary.card}: ${inp.size.join('x')} RGB in [${inp.range.join(', ')}], ${Object.keys(r.card.aliases ?? {}).length} layer aliases${summary.labels ? `, ${summary.labels} labels` : ''}`);
  },
);
