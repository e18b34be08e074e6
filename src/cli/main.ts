// The fviz command. Commands parse and print; the library does the work.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isFvizError } from '../errors.ts';
import { loadCommands } from './commands/index.ts';
import type { Cli } from './commands/types.ts';

const debug = process.argv.includes('--debug');

function fail(e: unknown): never {
  if (debug) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  } else if (isFvizError(e)) {
    console.error(`fviz: ${e.message}`);
  } else {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`fviz: internal error: ${msg.split('\n')[0]} (run with --debug for the stack)`);
  }
  process.exit(isFvizError(e) || !(e instanceof Error) ? 2 : 1);
}

process.on('unhandledRejection', fail);

let cli: Cli = yargs(hideBin(process.argv))
  .scriptName('fviz')
  .usage('$0 <command> [options]\n\nFeature visualization for ONNX image classifiers.')
  .option('debug', { type: 'boolean', describe: 'show stack traces on errors', global: true })
  .option('threads', { type: 'number', describe: 'onnxruntime intra-op threads (default: all cores)', global: true })
  .option('device', { choices: ['cpu', 'cuda'] as const, default: 'cpu' as const, describe: 'execution provider', global: true })
  .demandCommand(1, 'name a command: fviz --help lists them')
  .strict()
  .recommendCommands()
  .help()
  .fail((msg, err) => {
    if (err) fail(err);
    console.error(`fviz: ${msg} (fviz --help lists the options)`);
    process.exit(2);
  });

for (const c of await loadCommands(hideBin(process.argv))) cli = c(cli);

// A TensorFlow.js model.json given as a model is converted (once, cached by its sha256) before the command runs,
// and the command gets the cached .onnx (its card beside it), so every command takes one.
cli = cli.middleware(async (argv) => {
  if (argv._.includes('convert-tfjs')) return;
  const keys = ['model', 'judge', 'classifier'].filter((k) => {
    const v = argv[k];
    return typeof v === 'string' && v.endsWith('.json');
  });
  if (keys.length === 0) return;
  const [{ ensureTfjsConverted }, { modelsCacheDir }] = await Promise.all([import('../tfjs/files.ts'), import('../models/registry.ts')]);
  for (const k of keys) argv[k] = await ensureTfjsConverted(String(argv[k]), modelsCacheDir());
});

try {
  await cli.parseAsync();
} catch (e) {
  fail(e);
}
