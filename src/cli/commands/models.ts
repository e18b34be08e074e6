// fviz models list | fetch NAME | add FILE [--as NAME] | convert-caffe DEPLOY WEIGHTS OUT | convert-tfjs MODEL.json OUT
import type { InstalledModel } from '../../models/install.ts';
import { convertCaffeSubcommand } from './convert-caffe.ts';
import { convertTfjsSubcommand } from './convert-tfjs.ts';
import { defineCommand } from './types.ts';

function formatBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} kB`;
}

function report(r: InstalledModel, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(r));
    return;
  }
  if (r.alreadyInstalled) {
    console.log(`${r.name} is already installed: ${r.modelPath} (sha256 ${r.sha256}); --force installs it again`);
    return;
  }
  const check = r.verified === 'card' ? 'matches the card' : r.verified === 'option' ? 'matches --sha256' : 'not checked: nothing records a hash for this file';
  console.log(`installed ${r.name}: ${r.modelPath} (${formatBytes(r.bytes)}, sha256 ${r.sha256})`);
  console.log(`  source: ${r.source} (sha256 ${r.sourceSha256}, ${check})`);
  if (r.preSoftmax || r.aliases) console.log(`  card: ${r.cardPath}${r.preSoftmax ? `; logits ${r.preSoftmax}` : ''}; ${r.aliases} layer aliases`);
  else if (r.cardPath) console.log(`  card: ${r.cardPath}`);
}

const log = (line: string) => process.stderr.write(`${line}\n`);

const listSubcommand = defineCommand(
  'list',
  'the models fviz can fetch and those installed, with path, size and sha256',
  (c) => c.option('json', { type: 'boolean', describe: 'print JSON lines' }),
  async (a) => {
    const [{ listModels }, { modelsCacheDir }] = await Promise.all([import('../../models/install.ts'), import('../../models/registry.ts')]);
    const models = listModels();
    if (a.json) {
      for (const m of models) console.log(JSON.stringify(m));
      return;
    }
    console.log(`models cache: ${modelsCacheDir()} (set FVIZ_MODELS to move it)`);
    for (const m of models) {
      if (m.installed) console.log(`${m.name.padEnd(12)} ${m.kind.padEnd(10)} installed      ${formatBytes(m.bytes).padStart(9)}  ${m.sha256 ?? '(no recorded sha256)'}  ${m.path}`);
      else console.log(`${m.name.padEnd(12)} ${m.kind.padEnd(10)} not installed  ${'-'.padStart(9)}  ${m.expectedSha256 ?? '(no published sha256)'}  fviz models fetch ${m.name}`);
    }
  },
);

const fetchSubcommand = defineCommand(
  'fetch <name>',
  'download a model, check its sha256, convert it if needed and install it with its card',
  (c) =>
    c
      .positional('name', { type: 'string', demandOption: true, describe: 'googlenet or dgn-fc6 (fviz models list)' })
      .option('sha256', { type: 'string', describe: 'the sha256 the download must have (required where the card records none)' })
      .option('url', { type: 'string', describe: "download from this URL instead of the card's (a mirror)" })
      .option('prototxt', { type: 'string', describe: "deploy prototxt for the Caffe conversion instead of the card's" })
      .option('force', { type: 'boolean', describe: 'install again over an installed copy' })
      .option('timeout', { type: 'number', default: 30, describe: 'seconds without data before a connection counts as dropped' })
      .option('retries', { type: 'number', default: 3, describe: 'resumes after a dropped connection' })
      .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  async (a) => {
    const { fetchModel } = await import('../../models/install.ts');
    const r = await fetchModel(a.name, {
      sha256: a.sha256,
      url: a.url,
      prototxt: a.prototxt,
      force: a.force,
      timeoutSeconds: a.timeout,
      retries: a.retries,
      log,
    });
    report(r, !!a.json);
  },
);

const addSubcommand = defineCommand(
  'add <file>',
  'install a local file: a downloaded model (.onnx; .caffemodel or .zip for dgn-fc6) or any .onnx under a name',
  (c) =>
    c
      .positional('file', { type: 'string', demandOption: true, describe: '.onnx, .caffemodel or .zip' })
      .option('as', { type: 'string', describe: "the model's name (default: recognized by its sha256, or the file name)" })
      .option('sha256', { type: 'string', describe: 'the sha256 the file must have' })
      .option('prototxt', { type: 'string', describe: "deploy prototxt for the Caffe conversion instead of the card's" })
      .option('json', { type: 'boolean', describe: 'print the result as JSON' }),
  async (a) => {
    const { addModel } = await import('../../models/install.ts');
    const r = await addModel(a.file, {
      as: a.as,
      sha256: a.sha256,
      prototxt: a.prototxt,
      log,
    });
    report(r, !!a.json);
  },
);

/** `fviz models ...`: the models cache and the Caffe and TensorFlow.js converters. */
export const modelsCommand = defineCommand('models', 'model tools: list, fetch, add, convert-caffe, convert-tfjs', (c) =>
  convertTfjsSubcommand(convertCaffeSubcommand(addSubcommand(fetchSubcommand(listSubcommand(c))))).demandCommand(1, 'name a models subcommand: list, fetch, add, convert-caffe, convert-tfjs'),
);
