// Writing a trained generator: generator.onnx (input 'code', output 'image' in [0,1]), its card
// generator.card.json (code size, bounds file, output convention, DGN-AM settings, encoder, the classifier it
// inverts, reconstruction error, training facts), and when the run is finished: the test-split
// reconstruction error, reconstructions.png (test images beside G(E(x))) and the DGN-AM class check
// (dgn-classes.png, its numbers in the card).
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { ImageSet } from '../../dataset/image-set.ts';
import { evenIndices } from '../../dataset/image-set.ts';
import type { DgnSettings, GeneratorCard } from '../../generator/card.ts';
import { EMBEDDED_DIR } from '../../models/registry.ts';
import { repoRoot } from '../../shared-path.ts';
import { saveModel, writeAtomic } from '../../onnx/proto.ts';
import { nchw, type Nchw } from '../../image/nchw.ts';
import { renderSheet, writeSheet, type SheetRow } from '../../render/sheet.ts';
import { fillBatch, IDENTITY_NORMALIZATION } from '../../dataset/batches.ts';
import { readBoundsFile, writeBoundsFile } from './bounds.ts';
import type { DiscriminatorConfig } from './discriminator.ts';
import type { DgnCheckResult } from './dgn-check.ts';
import { chooseDgnSettings, type DgnChoice } from './dgn-settings.ts';
import { ReconstructionEval, type Reconstruction } from './eval.ts';
import { buildGenerator, generatorMacs, type GeneratorConfig } from './net.ts';
import { loadFrozenClassifier, type FrozenClassifier } from './step.ts';
import type { GeneratorTrainMeta } from './trainer.ts';
import { saturatedBytes } from '../../render/metrics.ts';

export const GENERATOR_FILE = 'generator.onnx';
export const GENERATOR_CARD_FILE = 'generator.card.json';
export const BOUNDS_FILE = 'generator.bounds.txt';
/** Per code unit, the range observed over the training set (the bounds are a multiple of it). */
export const CODE_RANGE_FILE = 'code-range.txt';

export interface ExportFacts {
  out: string;
  gen: GeneratorConfig;
  disc: DiscriminatorConfig;
  cls: FrozenClassifier;
  classifierSha: string;
  meta: GeneratorTrainMeta;
  totalSteps: number;
  stepsPerEpoch: number;
  encoder?: string;
  dgn: DgnSettings;
}

export interface ExportOptions {
  final: boolean;
  threads?: number;
  test?: ImageSet;
  testLimit?: number;
  dgnCheck?: boolean;
  dgnCheckSeeds?: number;
  /** Start step sizes to try in the DGN-AM check; the best goes into the card's dgn settings. */
  dgnStartSteps?: number[];
  /** Multiples of the observed code range to try as upper bounds in the same check (default: the run's). */
  dgnBoundMultiples?: number[];
  onStatus?: (msg: string) => void;
}

export interface ExportedFiles {
  model: string;
  card: string;
  sheet?: string;
  dgnSheet?: string;
  reconstruction?: Reconstruction;
  dgnCheck?: DgnCheckResult;
}

/** 'embedded:fc6' for the embedded classifier, else '<absolute path>:<code layer>'. */
export function defaultEncoder(cls: FrozenClassifier): string {
  const embedded = resolve(EMBEDDED_DIR, 'classifier.onnx');
  return `${resolve(cls.path) === embedded ? 'embedded' : resolve(cls.path)}:${cls.codeLayer}`;
}

const round = (v: number, digits = 5) => Number(v.toPrecision(digits));

/** A path inside the repository as repo-relative (cards travel with the checkout), else absolute. */
function repoPath(p: string): string {
  const r = relative(repoRoot, resolve(p));
  return r.startsWith('..') || isAbsolute(r) ? resolve(p) : r;
}

/** Two test images per class (the first ones of each), for the reconstruction sheet. */
function sheetIndices(set: ImageSet, perClass: number): number[][] {
  const rows: number[][] = Array.from({ length: perClass }, () => []);
  for (let c = 0; c < set.classes.length; c++) {
    let found = 0;
    for (let i = 0; i < set.n && found < perClass; i++) if (set.labels[i] === c) rows[found++]!.push(i);
  }
  return rows.filter((r) => r.length > 0);
}

async function reconstructionSheet(ev: ReconstructionEval, set: ImageSet, path: string, title: string): Promise<void> {
  const rows = sheetIndices(set, 2);
  const [H, W] = [set.height, set.width];
  const per = 3 * H * W;
  const sheetRows: SheetRow[] = [];
  for (const idx of rows) {
    const x = new Float32Array(Math.max(idx.length, ev.batch) * per);
    fillBatch(set, idx, IDENTITY_NORMALIZATION, x);
    const { fake } = await ev.reconstruct(x, idx.length);
    const tiles = (data: Float32Array) => idx.map((_, k) => nchw(1, 3, H, W, data.slice(k * per, (k + 1) * per)) as Nchw);
    sheetRows.push({ label: 'test image x', cells: tiles(x) });
    sheetRows.push({ label: 'G(E(x))', cells: tiles(fake) });
  }
  const columns = rows[0]!.map((i) => set.classes[set.labels[i]!] ?? '');
  await writeSheet(path, renderSheet({ rows: sheetRows, columns, title, tile: 96 }));
}

export async function exportGenerator(f: ExportFacts, gw: Map<string, Float32Array>, o: ExportOptions): Promise<ExportedFiles> {
  const status = o.onStatus ?? (() => {});
  const modelPath = join(f.out, GENERATOR_FILE);
  const cardPath = join(f.out, GENERATOR_CARD_FILE);
  saveModel(buildGenerator(f.gen, f.cls.codeSize, gw), modelPath);
  const meta = f.meta;
  const files: ExportedFiles = { model: modelPath, card: cardPath };
  let reconstruction: GeneratorCard['reconstruction'];
  const lastTest = meta.history.at(-1)?.test;
  if (lastTest) reconstruction = { split: 'test', images: lastTest.n, mse: round(lastTest.mse), featureLoss: round(lastTest.feature), comparator: f.cls.comparator, when: `epoch ${meta.history.length}` };
  if (o.final && o.test) {
    const evalCls = loadFrozenClassifier(f.cls.path, 50, { codeLayer: f.cls.codeLayer, comparator: f.cls.comparator });
    const ev = await ReconstructionEval.create(evalCls, f.gen, f.disc, gw, { threads: o.threads });
    try {
      const indices = o.testLimit ? evenIndices(o.test.n, o.testLimit) : undefined;
      status(`reconstruction error on ${indices?.length ?? o.test.n} test images`);
      const rec = await ev.run(o.test, { indices });
      files.reconstruction = rec;
      reconstruction = { split: 'test', images: rec.n, mse: round(rec.mse), featureLoss: round(rec.feature), comparator: f.cls.comparator, when: 'final' };
      files.sheet = join(f.out, 'reconstructions.png');
      await reconstructionSheet(ev, o.test, files.sheet, `Test images and their reconstructions G(E(x)) from ${f.cls.codeLayer} (MSE ${rec.mse.toFixed(4)}, feature loss ${rec.feature.toFixed(3)})`);
    } finally {
      await ev.release();
    }
  }
  const clsCard = f.cls.card;
  const clsRun = clsCard['run'] as { finished?: boolean } | undefined;
  const epochsDone = Math.floor(meta.step / f.stepsPerEpoch);
  const card: GeneratorCard = {
    name: 'fviz embedded generator (Dosovitskiy & Brox 2016 style, inverts the embedded classifier’s fc6)',
    model: GENERATOR_FILE,
    codeSize: f.cls.codeSize,
    bounds: { lower: 0, upper: BOUNDS_FILE },
    output: { channels: 'RGB', range: [0, 1], mean: [0, 0, 0], std: [1, 1, 1], size: f.gen.size },
    toClassifier: 'center-crop',
    dgn: f.dgn,
    encoder: f.encoder ?? defaultEncoder(f.cls),
    classifier: {
      model: repoPath(f.cls.path),
      sha256: f.classifierSha,
      codeLayer: f.cls.codeLayer,
      comparator: f.cls.comparator,
      testAccuracy: clsCard['testAccuracy'],
      finished: clsRun?.finished ?? null,
    },
    boundsInfo: { lower: 0, upper: `${meta.bounds?.multiple ?? 3} x the observed range of each unit over ${meta.bounds?.images ?? '?'} training images`, file: BOUNDS_FILE },
    architecture: f.gen,
    discriminator: f.disc,
    forwardMacsPerImage: generatorMacs(f.gen, f.cls.codeSize),
    parameters: [...gw.values()].reduce((s, v) => s + v.length, 0),
    reconstruction,
    training: {
      command: meta.command,
      options: meta.options,
      imagesPerSecond: round(meta.imagesPerSecond, 3),
      wallSeconds: Math.round(meta.wallSeconds),
      trainSeconds: Math.round(meta.trainSeconds),
      machine: 'this project’s reference machine: 2 CPU cores (shared), onnxruntime-node CPU',
    },
    data: meta.dataset,
    run: {
      epochsCompleted: epochsDone,
      epochsPlanned: meta.options.epochs,
      step: meta.step,
      totalSteps: f.totalSteps,
      finished: o.final && meta.step >= f.totalSteps,
      history: meta.history.map((h) => ({
        epoch: h.epoch,
        loss: round(h.loss, 4),
        pixel: round(h.pixel, 4),
        feature: round(h.feature, 4),
        adversarial: round(h.adversarial, 4),
        discriminator: round(h.discriminator, 4),
        dUpdates: round(h.dUpdates, 3),
        testMse: h.test ? round(h.test.mse, 4) : null,
        testFeature: h.test ? round(h.test.feature, 4) : null,
      })),
    },
  };
  const writeCard = () => writeAtomic(cardPath, `${JSON.stringify(card, null, 2)}\n`);
  writeCard();
  if (o.final && o.dgnCheck) {
    const observedRange = readBoundsFile(join(f.out, CODE_RANGE_FILE));
    const choice = await chooseDgnSettings({
      classifier: f.cls.path,
      generator: modelPath,
      base: f.dgn,
      startSteps: o.dgnStartSteps?.length ? o.dgnStartSteps : [f.dgn.startStep],
      boundMultiples: o.dgnBoundMultiples?.length ? o.dgnBoundMultiples : [meta.bounds?.multiple ?? 3],
      observedRange,
      seeds: o.dgnCheckSeeds ?? 4,
      dataSaturated: o.test ? saturatedBytes(o.test.pixels) : undefined,
      threads: o.threads,
      onStatus: status,
    });
    files.dgnCheck = choice.check;
    files.dgnSheet = await recordDgnChoice(card, choice, { out: f.out, observedRange, images: meta.bounds?.images });
    writeCard();
  }
  return files;
}

/**
 * Puts a DGN-AM settings choice into a generator card (dgn, dgnCheck, boundsInfo), rewrites the bounds file
 * in `out` at the chosen multiple of the observed range, and renders dgn-classes.png there; returns its path.
 */
export async function recordDgnChoice(card: GeneratorCard, choice: DgnChoice, at: { out: string; observedRange: Float32Array; images?: number }): Promise<string> {
  const check = choice.check;
  writeBoundsFile(join(at.out, BOUNDS_FILE), Float32Array.from(at.observedRange, (v) => v * choice.boundMultiple));
  card.bounds = { lower: 0, upper: BOUNDS_FILE };
  card['boundsInfo'] = {
    lower: 0,
    upper: `${choice.boundMultiple} x the observed range of each unit over ${at.images ?? '?'} training images`,
    multiple: choice.boundMultiple,
    file: BOUNDS_FILE,
  };
  card.dgn = check.settings;
  card['dgnCheck'] = {
    settings: check.settings,
    boundMultiple: choice.boundMultiple,
    init: check.init,
    seedsPerClass: check.seeds,
    hits: check.hits,
    images: check.n,
    rate: round(check.hits / check.n, 4),
    saturated: round(check.saturated, 4),
    msPerStep: round(check.msPerStep, 3),
    classes: check.classes.map((c) => ({ class: c.label, hits: c.hits, meanProb: round(c.meanProb, 4), saturated: round(c.saturated, 4), logitStart: round(c.logitStart, 4), logitEnd: round(c.logitEnd, 4) })),
    rule:
      choice.dataSaturated === undefined
        ? `the least saturated of the settings within ${choice.margin} hit${choice.margin === 1 ? '' : 's'} of the best (then the highest mean probability)`
        : `the most hits among the settings within 2x the data's blown-out rate (${round(choice.dataSaturated, 4)}) with 90% hits; when none, the least saturated of the settings within ${choice.margin} hit${choice.margin === 1 ? '' : 's'} of the best`,
    ...(choice.dataSaturated === undefined ? {} : { dataSaturated: choice.dataSaturated, withinDataRate: choice.withinDataRate }),
    ...(choice.grid.length > 1 ? { grid: choice.grid } : {}),
  };
  const sheet = join(at.out, 'dgn-classes.png');
  const rows: SheetRow[] = Array.from({ length: check.seeds }, (_, s) => ({
    label: `seed ${s}`,
    cells: check.images.map((im) => ({ image: im, index: s })),
  }));
  const st = check.settings;
  await writeSheet(
    sheet,
    renderSheet({
      rows,
      columns: check.classes.map((c) => `${c.label} ${c.hits}/${c.n}`),
      title: `DGN-AM on each class logit (${st.steps} steps, step ${st.startStep} -> ${st.endStep}, L2 ${st.l2}, bounds ${choice.boundMultiple}x the observed range)`,
      tile: 96,
    }),
  );
  return sheet;
}
