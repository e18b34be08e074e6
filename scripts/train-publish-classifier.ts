// Publish the best classifier of a training run as the embedded default: copies <run>/classifier.onnx and
// its card into models/embedded/ (atomically), adds the run's progress to the card, optionally commits them.
// With --as judge it publishes the independent judge (judge.onnx, `--judge embedded-judge`) instead.
//   node bin/run-ts.js scripts/train-publish-classifier.ts [--from .cache/train-classifier] [--as judge] [--commit]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { writeAtomic } from '../src/onnx/proto.ts';
import { EMBEDDED_DIR } from '../src/models/registry.ts';
import { repoRoot } from '../src/shared-path.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';
import type { TrainMeta } from '../src/train/classifier/trainer.ts';

const args = process.argv.slice(2);
const fromIdx = args.indexOf('--from');
const from = resolve(fromIdx >= 0 ? args[fromIdx + 1]! : join(repoRoot, '.cache', 'train-classifier'));
const model = join(from, 'classifier.onnx');
const cardFile = join(from, 'classifier.card.json');
if (!existsSync(model) || !existsSync(cardFile)) {
  console.error(`no exported classifier in ${from} yet (it appears after the first epoch)`);
  process.exit(2);
}
const card = JSON.parse(readFileSync(cardFile, 'utf8')) as Record<string, unknown> & { testAccuracy?: number; epochsDone?: number; epochsPlanned?: number };
const last = join(from, 'last.ckpt');
if (existsSync(last)) {
  const meta = readCheckpoint<TrainMeta>(last).meta;
  card['run'] = {
    epochsCompleted: meta.history.length,
    epochsPlanned: meta.options.epochs,
    finished: meta.history.length >= meta.options.epochs,
    history: meta.history.map((e) => ({ epoch: e.epoch, trainLoss: +e.trainLoss.toFixed(4), trainAccuracy: +e.trainAccuracy.toFixed(4), testAccuracy: e.test && +e.test.accuracy.toFixed(4) })),
    wallSeconds: Math.round(meta.wallSeconds),
    trainSeconds: Math.round(meta.trainSeconds),
    imagesPerSecond: Math.round(meta.imagesPerSecond * 10) / 10,
  };
}
mkdirSync(EMBEDDED_DIR, { recursive: true });
const asIdx = args.indexOf('--as');
const role = asIdx >= 0 ? args[asIdx + 1]! : 'classifier';
if (role !== 'classifier' && role !== 'judge') {
  console.error(`--as takes classifier or judge, not '${role}'`);
  process.exit(2);
}
if (role === 'judge') {
  card['name'] = 'fviz embedded judge (VGG-style, CIFAR-10): scores the embedded pair\'s images, never optimized against';
  card['model'] = 'judge.onnx';
}
const outModel = join(EMBEDDED_DIR, `${role}.onnx`);
const outCard = join(EMBEDDED_DIR, `${role}.card.json`);
writeAtomic(outModel, readFileSync(model));
writeAtomic(outCard, `${JSON.stringify(card, null, 2)}\n`);
const acc = card.testAccuracy !== undefined ? `${(100 * card.testAccuracy).toFixed(2)}%` : 'n/a';
console.log(`published ${relative(repoRoot, outModel)} (${(statSync(outModel).size / 1e6).toFixed(2)} MB, epoch ${card.epochsDone}/${card.epochsPlanned}, test accuracy ${acc})`);
if (args.includes('--commit')) {
  const paths = [relative(repoRoot, outModel), relative(repoRoot, outCard)];
  execFileSync('git', ['add', ...paths], { cwd: repoRoot, stdio: 'inherit' });
  execFileSync('git', ['commit', '-q', '-m', `Embedded ${role}: best of epoch ${card.epochsDone}/${card.epochsPlanned}, CIFAR-10 test accuracy ${acc}`, '--', ...paths], { cwd: repoRoot, stdio: 'inherit' });
  console.log('committed');
}
