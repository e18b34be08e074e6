import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { nchw, type Nchw } from '../src/image/nchw.ts';
import { readImage } from '../src/render/image.ts';
import { renderSheet, renderStrip, sheetLayout, wrapText, type SheetOptions } from '../src/render/sheet.ts';
import { sharedDir } from '../src/shared-path.ts';
import { Rng } from '../src/util/rng.ts';

const artifacts = join(import.meta.dirname, 'artifacts');

function checker(seed: number, size: number): Nchw {
  const x = nchw(1, 3, size, size);
  new Rng(seed).fillUniform(x.data);
  return x;
}

async function decode(png: Buffer) {
  return sharp(png).raw().toBuffer({ resolveWithObject: true });
}

function darkPixels(img: { data: Buffer; info: sharp.OutputInfo }, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  const { width, channels } = img.info;
  for (let y = Math.max(0, y0); y < y1; y++)
    for (let x = Math.max(0, x0); x < x1; x++) if (img.data[(y * width + x) * channels]! < 100) n++;
  return n;
}

describe('sheets', () => {
  const methods = ['naive', 'l2', 'tv', 'blur', 'fourier'];
  const opts = (): SheetOptions => ({
    title: 'Class visualizations, embedded CIFAR-10 model',
    columns: methods,
    rows: ['class:3 (cat)', 'class:5 (dog)', 'conv2:17'].map((label, r) => ({
      label,
      cells: methods.map((_, c) => (r === 2 && c === 4 ? null : checker(r * 10 + c, 32))),
      captions: methods.map((_, c) => `slope ${(-2 + c * 0.3).toFixed(2)}`),
    })),
  });

  it('small images are enlarged by a whole factor with nearest-neighbour: every source pixel is a solid block', async () => {
    const o = opts();
    const L = sheetLayout(o);
    expect(L.tile).toBe(128);
    const img = await decode(await renderSheet(o));
    expect([img.info.width, img.info.height]).toEqual([L.width, L.height]);
    const src = o.rows[1]!.cells[2] as Nchw;
    const { x, y } = L.cells[1]![2]!;
    for (const [sy, sx] of [
      [0, 0],
      [5, 17],
      [31, 31],
    ] as const)
      for (let dy = 0; dy < 4; dy++)
        for (let dx = 0; dx < 4; dx++)
          for (let ch = 0; ch < 3; ch++) {
            const got = img.data[((y + sy * 4 + dy) * L.width + x + sx * 4 + dx) * 3 + ch];
            expect(got).toBe(Math.round(src.data[ch * 1024 + sy * 32 + sx]! * 255));
          }
  });

  it('draws the title, column headers, row labels and captions (system fonts render text)', async () => {
    const o = opts();
    const L = sheetLayout(o);
    const img = await decode(await renderSheet(o));
    const c0 = L.cells[0]![0]!;
    // Column header band above the first tile, row label band left of it, caption band below it.
    expect(darkPixels(img, c0.x, c0.y - 22, c0.x + L.tile, c0.y - 2)).toBeGreaterThan(20);
    expect(darkPixels(img, 0, c0.y, c0.x - 4, c0.y + L.tile)).toBeGreaterThan(20);
    expect(darkPixels(img, c0.x, c0.y + L.tile + 1, c0.x + L.tile, c0.y + L.tile + 16)).toBeGreaterThan(10);
    expect(darkPixels(img, 0, 0, L.width, 24)).toBeGreaterThan(30);
    // The empty cell is a light grey box.
    const e = L.cells[2]![4]!;
    expect(img.data[((e.y + 10) * L.width + e.x + 10) * 3]).toBe(0xee);
  });

  it('same input, same bytes', async () => {
    const a = await renderSheet(opts());
    const b = await renderSheet(opts());
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('wraps long labels within the tile width', () => {
    const lines = wrapText('mixed4a_pre_relu:476 (a very long unit description)', 128, 14);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length * 14 * 0.62).toBeLessThanOrEqual(128);
  });

  it('a frames strip (steps 0, 4, 48, 2048) and a sheet with a photo, saved as artifacts', async () => {
    mkdirSync(artifacts, { recursive: true });
    const frames = [0, 4, 48, 2048].map((step, i) => ({ label: step, image: checker(100 + i, 32) }));
    const strip = await renderStrip(frames, { title: 'naive, class:3' });
    const img = await decode(strip);
    expect(img.info.width).toBeGreaterThan(4 * 128);
    writeFileSync(join(artifacts, 'render-strip.png'), strip);
    const photo = await readImage(join(sharedDir(), 'datasets', 'imagenet-samples', 'n01440764_tench.JPEG'), { size: 224 });
    const o = opts();
    o.rows[0]!.cells.push(photo);
    o.columns = [...o.columns, 'dataset example'];
    writeFileSync(join(artifacts, 'render-sheet.png'), await renderSheet(o));
  });
});
