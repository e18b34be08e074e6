// Publish a finished generator run as the embedded generator: copies <run>/generator.onnx, its card, the
// bounds file and the two sheets into models/embedded/ (atomically), after checking that the run was trained
// against exactly the classifier now in models/embedded/ (sha256) and that it finished (--allow-interim
// publishes an unfinished run; its card keeps run.finished false). Optionally commits them.
//   node bin/run-ts.js scripts/train-embedded-generator-publish.ts [--from .cache/train-generator] [--allow-interim] [--commit]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { sha256File } from '../src/dataset/cifar10.ts';
import { EMBEDDED_DIR } from '../src/models/registry.ts';
import { writeAtomic } from '../src/onnx/proto.ts';
import { repoRoot } from '../src/shared-path.ts';
import { BOUNDS_FILE, GENERATOR_CARD_FILE, GENERATOR_FILE } from '../src/train/generator/export.ts';

const args = process.argv.slice(2);
const fromIdx = args.indexOf('--from');
const from = resolve(fromIdx >= 0 ? args[fromIdx + 1]! : join(repoRoot, '.cache', 'train-generator'));
const fail = (msg: string): never => {
  console.error(msg);
  process.exit(2);
};
for (const f of [GENERATOR_FILE, GENERATOR_CARD_FILE, BOUNDS_FILE]) if (!existsSync(join(from, f))) fail(`no ${f} in ${from} yet (the generator is exported after each epoch)`);
const card = JSON.parse(readFileSync(join(from, GENERATOR_CARD_FILE), 'utf8')) as Record<string, any>;
const embeddedClassifier = join(EMBEDDED_DIR, 'classifier.onnx');
if (!existsSync(embeddedClassifier)) fail(`${embeddedClassifier} is missing: publish the classifier first`);
const sha = await sha256File(embeddedClassifier);
if (card.classifier?.sha256 !== sha)
  fail(`the run was trained against classifier sha256 ${card.classifier?.sha256}, but ${relative(repoRoot, embeddedClassifier)} is ${sha}: retrain the generator against it`);
const finished = card.run?.finished === true;
if (!finished && !args.includes('--allow-interim')) fail(`the run in ${from} has not finished (run.finished false): let it finish, or pass --allow-interim`);
card.encoder = `embedded:${card.classifier.codeLayer}`;
card.classifier.model = 'classifier.onnx';
if (!finished) card.name = `${card.name} (INTERIM: unfinished run, ${card.run?.epochsCompleted}/${card.run?.epochsPlanned} epochs)`;

mkdirSync(EMBEDDED_DIR, { recursive: true });
const copied = [GENERATOR_FILE, BOUNDS_FILE, 'reconstructions.png', 'dgn-classes.png'].filter((f) => existsSync(join(from, f)));
const targets = copied.map((f) => join(EMBEDDED_DIR, f === 'reconstructions.png' || f === 'dgn-classes.png' ? `generator-${f}` : f));
copied.forEach((f, k) => writeAtomic(targets[k]!, readFileSync(join(from, f))));
const outCard = join(EMBEDDED_DIR, GENERATOR_CARD_FILE);
writeAtomic(outCard, `${JSON.stringify(card, null, 2)}\n`);
const model = join(EMBEDDED_DIR, GENERATOR_FILE);
const rec = card.reconstruction;
const check = card.dgnCheck;
console.log(
  `published ${relative(repoRoot, model)} (${(statSync(model).size / 1e6).toFixed(2)} MB, ${finished ? 'finished' : 'INTERIM'} run, ` +
    `test mse ${rec?.mse ?? 'n/a'}, feature loss ${rec?.featureLoss ?? 'n/a'}${check ? `, DGN-AM ${check.hits}/${check.images} in the target class` : ''})`,
);
if (args.includes('--commit')) {
  const paths = [...targets, outCard].map((p) => relative(repoRoot, p));
  execFileSync('git', ['add', ...paths], { cwd: repoRoot, stdio: 'inherit' });
  const what = finished ? 'finished run' : `INTERIM run (${card.run?.epochsCompleted}/${card.run?.epochsPlanned} epochs)`;
  execFileSync('git', ['commit', '-q', '-m', `Embedded generator: ${what}, test reconstruction mse ${rec?.mse}, DGN-AM ${check ? `${check.hits}/${check.images}` : 'unchecked'}`, '--', ...paths], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  console.log('committed');
}
