// The options `fviz train classifier` and `fviz train generator` share, and what they pass to the trainers.
import type { Argv } from 'yargs';
import type { TrainRunOptions } from '../../train/run-options.ts';

/** flip, seed, checkpoint-every, resume, train-limit and stop-at-step. */
export function trainRunOptions<T>(c: Argv<T>) {
  return c
    .option('flip', { type: 'boolean', default: true, describe: 'random horizontal flips' })
    .option('seed', { type: 'number', default: 1 })
    .option('checkpoint-every', { type: 'number', default: 200, describe: 'steps between checkpoints (also at every epoch end)' })
    .option('resume', { type: 'boolean', default: false, describe: 'continue from OUT/last.ckpt' })
    .option('train-limit', { type: 'number', describe: 'train on this many images (evenly spread)' })
    .option('stop-at-step', { type: 'number', describe: 'stop after this global step (checkpointed)' });
}

/** The parsed shared options as trainer options; status lines go to stderr. */
export function trainRunArgs(a: {
  seed: number;
  'checkpoint-every': number;
  resume: boolean;
  'train-limit': number | undefined;
  'stop-at-step': number | undefined;
  threads: number | undefined;
}): TrainRunOptions {
  return {
    seed: a.seed,
    checkpointEvery: a['checkpoint-every'],
    resume: a.resume,
    trainLimit: a['train-limit'],
    stopAtStep: a['stop-at-step'],
    threads: a.threads,
    command: `fviz ${process.argv.slice(2).join(' ')}`,
    onStatus: (m) => process.stderr.write(`${m}\n`),
  };
}

/** The line a run stopped early (--stop-at-step, or an interruption) ends with. */
export function stoppedLine(step: number, checkpoint: string): string {
  return `stopped at step ${step}; continue with --resume (checkpoint ${checkpoint})`;
}
