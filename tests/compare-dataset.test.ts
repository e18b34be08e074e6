// compare --dataset: the unit's dataset maximum and top examples come from the activation scan; checked
// here against the unit's activation measured image by image.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, type CompareResult } from '../src/compare/compare.ts';
import { openDatasetReference } from '../src/compare/dataset.ts';
import { UnitProbe } from '../src/compare/probe.ts';
import { openClassifier } from '../src/classifier/card.ts';
import { nchw } from '../src/image/nchw.ts';
import { readImage, writePng } from '../src/render/image.ts';
import { Rng } from '../src/util/rng.ts';
import { writeCompareModels, type CompareModels } from './helpers/compare-models.ts';

describe('compare --dataset', () => {
  let root: string;
  let models: CompareModels;
  let data: string;
  let result: CompareResult;
  /** Activation of class:cat on every dataset image, measured one image at a time. */
  const perImage = new Map<string, number>();

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fviz-compare-dataset-'));
    models = writeCompareModels(join(root, 'models'));
    data = join(root, 'data');
    const rng = new Rng(9);
    for (let i = 0; i < 14; i++) {
      const img = nchw(1, 3, 32, 32);
      const f = 0.3 + 0.25 * (i % 5);
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < 32; y++)
          for (let x = 0; x < 32; x++) img.data[c * 1024 + y * 32 + x] = 0.5 + 0.45 * Math.sin(f * x + (c + 1) * 0.4 * y + rng.uniform(0, 6));
      await writePng(img, join(data, i % 2 ? 'dog' : 'cat', `img-${String(i).padStart(2, '0')}.png`));
    }
    const probe = await UnitProbe.create(openClassifier(models.classifier), 'class:cat', { threads: 1 });
    for (const cls of ['cat', 'dog'])
      for (const f of readdirSync(join(data, cls))) perImage.set(`${cls}/${f}`, await probe.activation(await readImage(join(data, cls, f))));
    await probe.release();
    result = await compare({
      model: models.classifier,
      objectives: ['class:cat', 'conv2:2'],
      methods: ['naive', 'tv'],
      seeds: 1,
      steps: 6,
      dataset: data,
      out: join(root, 'out'),
      threads: 1,
    });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("gives the dataset's maximum of the unit and its top example", async () => {
    const ref = await openDatasetReference(data, openClassifier(models.classifier), { threads: 1 });
    const unit = await ref.forObjective('class:cat');
    const best = [...perImage].sort((a, b) => b[1] - a[1]);
    expect(unit.max).toBeCloseTo(best[0]![1], 4);
    expect(unit.examples).toHaveLength(4);
    const top = await readImage(join(data, best[0]![0]));
    expect(Array.from(unit.examples[0]!.data)).toEqual(Array.from(top.data));
  });

  it('reports each activation as a fraction of that maximum', () => {
    const max = Math.max(...perImage.values());
    for (const m of result.metrics.filter((x) => x.objective === 'class:cat')) expect(m.activationFraction).toBeCloseTo(m.activation / max, 4);
    const json = JSON.parse(readFileSync(join(root, 'out', 'metrics.json'), 'utf8'));
    expect(json.parameters.dataset).toMatch(/14 files/);
    expect(json.images[0].activationFraction).toBeTypeOf('number');
  });

  it('adds a dataset-examples column to the sheet', async () => {
    const withData = await sharp(join(root, 'out', 'sheet.png')).metadata();
    const again = await compare({ model: models.classifier, objectives: ['class:cat', 'conv2:2'], methods: ['naive', 'tv'], seeds: 1, steps: 6, out: join(root, 'out'), threads: 1 });
    expect(again.ran).toBe(0);
    const without = await sharp(join(root, 'out', 'sheet.png')).metadata();
    // One more 128 px tile and its 6 px gap.
    expect(withData.width! - without.width!).toBe(134);
  });
});
