import type { Argv } from 'yargs';
import { defineCommand, type GlobalArgs } from './types.ts';
import { FvizError } from '../../errors.ts';
import type { ScanCommandOptions, ScanProgress } from '../../analysis/scan.ts';
import { ProgressLine } from '../../util/progress.ts';
import { inputOptions, inputOverrides, warn } from './options.ts';
import { MODEL_NAMES } from './models-arg.ts';

/** '0-15,42' -> [0..15, 42]. */
export function parseChannelList(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const out: number[] = [];
  for (const part of String(text).split(',').map((s) => s.trim()).filter((s) => s)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new FvizError(`--sheets '${text}' must be channel numbers and ranges, e.g. 0-15,42`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new FvizError(`--sheets: range '${part}' runs backwards`);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** A progress line for a scan that may start part-way (resume): counts from where it started. */
export function scanProgress(label: string): (p: ScanProgress) => void {
  let line: ProgressLine | undefined;
  let from = 0;
  return (p) => {
    if (!line) {
      from = p.start;
      line = new ProgressLine(label, p.total - from, 'images');
    }
    const status = `${p.images} scanned${from ? ` (resumed at ${from})` : ''}${p.skipped ? `, ${p.skipped} unreadable` : ''}`;
    if (p.next >= p.total) line.done(status);
    else line.update(p.next - from, status);
  };
}

/** One warning line naming unreadable files (all of them are in the index). */
export function skippedWarning(skipped: { file: string; error: string }[]): string | undefined {
  if (skipped.length === 0) return undefined;
  const shown = skipped.slice(0, 5).map((s) => s.file).join(', ');
  return `${skipped.length} unreadable file(s) skipped (listed in index.json): ${shown}${skipped.length > 5 ? ', ...' : ''}`;
}

/** The checkpoint options of a command that scans a dataset (examples, facets). */
export function scanCheckpointOptions<T>(y: Argv<T>) {
  return y
    .option('checkpoint-every', { type: 'number', default: 50, describe: 'batches between checkpoints of the scan (OUT/scan.ckpt)' })
    .option('fresh', { type: 'boolean', describe: 'ignore a checkpoint in OUT and scan from the start' });
}

/** What a scanning command passes on from its command line: checkpoints, session, progress line and messages. */
export function scanRunOptions(a: { 'checkpoint-every': number; fresh: boolean | undefined } & Pick<GlobalArgs, 'device' | 'threads'>): ScanCommandOptions {
  const every = a['checkpoint-every'];
  if (!Number.isInteger(every) || every < 1) throw new FvizError(`--checkpoint-every ${every} must be a positive integer`);
  return {
    checkpointEvery: every,
    fresh: a.fresh,
    device: a.device,
    threads: a.threads,
    onProgress: scanProgress('scan'),
    onStatus: (m: string) => process.stderr.write(`${m}\n`),
    warn,
    command: process.argv.slice(2).join(' '),
  };
}

export const examplesCommand = defineCommand(
  'examples',
  'dataset examples of every channel of a layer: top, bottom and percentile images, receptive-field crops, a sheet per channel',
  (c) =>
    inputOptions(
      scanCheckpointOptions(
        c
          .option('model', { type: 'string', describe: `classifier: ${MODEL_NAMES} (default: embedded)` })
          .option('layer', { type: 'string', demandOption: true, describe: 'tensor (or alias) whose channels to rank: N x C x H x W (max over positions) or N x K' })
          .option('dataset', { type: 'string', demandOption: true, describe: 'a folder of images (recursive; JPEG, PNG, WebP, GIF), a CIFAR-10 binary folder, or cifar10 (its test split)' })
          .option('out', { type: 'string', demandOption: true, describe: 'output folder: index.json, run.json, channels/NNNN.png' })
          .option('top', { type: 'number', default: 9, describe: 'highest-activating images per channel' })
          .option('bottom', { type: 'number', default: 9, describe: 'lowest-activating images per channel' })
          .option('percentiles', { type: 'number', default: 10, describe: 'images across the range, at the centres of this many percentile bins' })
          .option('batch', { type: 'number', default: 16, describe: 'images per inference batch' })
          .option('sheets', { type: 'string', describe: 'draw sheets only for these channels, e.g. 0-15,42 (the index covers all)' })
          .option('reservoir', { type: 'number', describe: 'images sampled for percentiles when the dataset is too big to keep every value (default 1000)' })
          .option('exact-limit', { type: 'number', describe: 'keep every value while images x channels is at most this (default 16777216)' })
          .option('seed', { type: 'number', default: 0, describe: 'seed of the reservoir sample' }),
      ).option('keep-state', { type: 'boolean', describe: 'keep OUT/scan.ckpt after finishing' }),
    ),
  async (a) => {
    const channels = parseChannelList(a.sheets);
    const input = inputOverrides(a);
    const run = scanRunOptions(a);
    const { datasetExamples } = await import('../../analysis/examples.ts');
    const r = await datasetExamples({
      model: a.model,
      layer: a.layer,
      dataset: a.dataset,
      out: a.out,
      top: a.top,
      bottom: a.bottom,
      percentiles: a.percentiles,
      batch: a.batch,
      channels,
      reservoir: a.reservoir,
      exactLimit: a['exact-limit'],
      seed: a.seed,
      keepState: a['keep-state'],
      input,
      ...run,
    });
    const warning = skippedWarning(r.index.skipped.files);
    if (warning) console.error(`fviz: warning: ${warning}`);
    const i = r.index;
    const sheets = i.channels.filter((c) => c.sheet).length;
    const rate = r.scan.timings.imagesPerSecond;
    console.log(
      `examples of ${i.tensor} (${i.channels.length} channels, ${i.mode.kind}) over ${i.dataset.images} images${rate > 0 ? ` at ${rate.toFixed(1)} images/s` : ''}: wrote ${sheets} sheets, index.json and run.json to ${r.outDir}`,
    );
  },
);
