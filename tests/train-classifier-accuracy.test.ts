// The committed embedded classifier on a fixed 1,000-image subset of the CIFAR-10 test split (the first 100
// images of each class, extracted from the shared archive): at least 85% correct, and in line with its card.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openClassifier } from '../src/classifier/card.ts';
import { decodeListing, listImageFolder } from '../src/dataset/image-folder.ts';
import { EMBEDDED_DIR } from '../src/models/registry.ts';
import { readModel } from '../src/onnx/proto.ts';
import { sharedFile } from '../src/shared-path.ts';
import { evaluateClassifier, normalizationFor } from '../src/train/classifier/evaluate.ts';

const modelPath = join(EMBEDDED_DIR, 'classifier.onnx');
const cardPath = join(EMBEDDED_DIR, 'classifier.card.json');
// Until the first trained model is committed there is nothing to measure; once the card is committed, a
// missing model is a failure, not a skip.
const notTrainedYet = !existsSync(modelPath) && !existsSync(cardPath);
if (notTrainedYet) console.warn(`SKIPPED: ${modelPath} is not committed yet (the embedded classifier is still training)`);

let dir: string | undefined;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A card that says its training run has not finished describes an interim snapshot: it is measured and
// must match its card, but the 85% target applies to the finished model.
const interim = !notTrainedYet && existsSync(cardPath) && (JSON.parse(readFileSync(cardPath, 'utf8')) as { run?: { finished?: boolean } }).run?.finished === false;
if (interim) console.warn(`the committed embedded classifier is an interim snapshot (card: run.finished false): the 85% check waits for the finished model`);

async function measure(): Promise<number> {
  expect(existsSync(modelPath), `${modelPath} is missing but its card is committed`).toBe(true);
  dir ??= mkdtempSync(join(tmpdir(), 'fviz-acc-'));
  if (!existsSync(join(dir, 'test'))) execFileSync('tar', ['-xzf', sharedFile('datasets', 'cifar10-jpg.tar.gz'), '-C', dir, '--wildcards', 'test/*/00[0-9][0-9].jpg']);
  const set = await decodeListing(listImageFolder(join(dir, 'test')));
  expect(set.n).toBe(1000);
  const clf = openClassifier(modelPath);
  expect(clf.labels).toEqual(set.classes);
  const acc = await evaluateClassifier(readModel(modelPath), set, { norm: normalizationFor(clf.card.input), output: clf.card.preSoftmax });
  return acc.accuracy;
}

let measured: Promise<number> | undefined;

describe.skipIf(notTrainedYet)('embedded classifier', () => {
  it('agrees with the test accuracy its card states', async () => {
    measured ??= measure();
    const accuracy = await measured;
    const card = JSON.parse(readFileSync(cardPath, 'utf8')) as { testAccuracy: number };
    expect(Math.abs(accuracy - card.testAccuracy)).toBeLessThan(0.04);
  });
  it.skipIf(interim)('classifies at least 85% of 1,000 CIFAR-10 test images correctly', async () => {
    measured ??= measure();
    expect(await measured).toBeGreaterThanOrEqual(0.85);
  });
});
