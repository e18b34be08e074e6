import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { nchw } from '../src/image/nchw.ts';
import { encodePng, readImage, readImages, toRgbBytes, writePng } from '../src/render/image.ts';
import { sharedDir } from '../src/shared-path.ts';
import { Rng } from '../src/util/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'fviz-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const photo = () => join(sharedDir(), 'datasets', 'imagenet-samples', 'n01440764_tench.JPEG');

function solid(r: number, g: number, b: number, w = 8, h = 6) {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } });
}

describe('writing PNGs', () => {
  it('round-trips through 8 bits: reading back gives the quantized values', async () => {
    const x = nchw(2, 3, 5, 7);
    new Rng(1).fillUniform(x.data);
    const file = join(dir, 'sub', 'round.png');
    await writePng(x, file, 1);
    const y = await readImage(file);
    expect(y.dims).toEqual([1, 3, 5, 7]);
    for (let i = 0; i < 105; i++) expect(y.data[i]).toBeCloseTo(Math.round(x.data[105 + i]! * 255) / 255, 6);
  });

  it('same tensor, same bytes; clamps out-of-range values and NaN', async () => {
    const x = nchw(1, 3, 16, 16);
    new Rng(2).fillNormal(x.data, 0.5, 0.5);
    x.data[0] = NaN;
    const a = await encodePng(x);
    const b = await encodePng({ ...x, data: x.data.slice() });
    expect(Buffer.compare(a, b)).toBe(0);
    const bytes = toRgbBytes(x);
    expect(bytes[0]).toBe(0);
    for (let p = 0; p < 256; p++) {
      const v = x.data[p]!;
      if (v > 1) expect(bytes[p * 3]).toBe(255);
      if (v < 0) expect(bytes[p * 3]).toBe(0);
    }
    x.data[5] = 0.25;
    expect(Buffer.compare(a, await encodePng(x))).not.toBe(0);
  });
});

describe('reading images', () => {
  it('a JPEG photo at 224 (centre crop) and at a non-square size', async () => {
    const x = await readImage(photo(), { size: 224 });
    expect(x.dims).toEqual([1, 3, 224, 224]);
    let lo = 1;
    let hi = 0;
    for (const v of x.data) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(0.5);
    expect((await readImage(photo(), { size: [100, 150], fit: 'stretch' })).dims).toEqual([1, 3, 100, 150]);
    const batch = await readImages([photo(), photo()], { size: 32 });
    expect(batch.dims).toEqual([2, 3, 32, 32]);
    expect(Array.from(batch.data.subarray(0, 3072))).toEqual(Array.from(batch.data.subarray(3072)));
  });

  it('channel order is RGB', async () => {
    const file = join(dir, 'orange.png');
    await solid(255, 128, 0).png().toFile(file);
    const x = await readImage(file);
    expect([x.data[0], x.data[48], x.data[96]].map((v) => Math.round(v! * 255))).toEqual([255, 128, 0]);
  });

  it('grey PNG -> three equal channels; RGBA -> flattened on white; WebP; GIF first frame', async () => {
    const grey = join(dir, 'grey.png');
    await sharp(Buffer.alloc(12, 100), { raw: { width: 4, height: 3, channels: 1 } }).png().toFile(grey);
    const g = await readImage(grey);
    expect(g.dims).toEqual([1, 3, 3, 4]);
    expect([g.data[0], g.data[12], g.data[24]].map((v) => Math.round(v! * 255))).toEqual([100, 100, 100]);

    const rgba = join(dir, 'rgba.png');
    const px = Buffer.alloc(16);
    for (let p = 0; p < 4; p++) px.set([0, 0, 0, 128], p * 4);
    await sharp(px, { raw: { width: 2, height: 2, channels: 4 } }).png().toFile(rgba);
    const a = await readImage(rgba);
    expect(Math.round(a.data[0]! * 255)).toBeGreaterThan(120); // half-transparent black on white: mid grey
    expect(Math.round(a.data[0]! * 255)).toBeLessThan(135);

    const webp = join(dir, 'pic.webp');
    await solid(10, 200, 30).webp({ lossless: true }).toFile(webp);
    const w = await readImage(webp);
    expect([w.data[0], w.data[48], w.data[96]].map((v) => Math.round(v! * 255))).toEqual([10, 200, 30]);

    const gif = join(dir, 'anim.gif');
    const red = await solid(255, 0, 0).png().toBuffer();
    const blue = await solid(0, 0, 255).png().toBuffer();
    await sharp([red, blue], { join: { animated: true } }).gif().toFile(gif);
    const f = await readImage(gif);
    expect(f.dims).toEqual([1, 3, 6, 8]);
    expect(f.data[0]).toBeGreaterThan(0.9);
    expect(f.data[96]).toBeLessThan(0.1);
  });

  it('one clear line naming the file for missing, directory, corrupt and truncated files', async () => {
    const missing = join(dir, 'nope.png');
    await expect(readImage(missing)).rejects.toThrow(`image '${missing}' does not exist`);
    await expect(readImage(dir)).rejects.toThrow(`image '${dir}' is a directory`);
    const junk = join(dir, 'junk.png');
    writeFileSync(junk, 'this is not a png');
    await expect(readImage(junk)).rejects.toThrow(new RegExp(`image '${junk}' is not a readable image`));
    const jpg = readFileSync(photo());
    const cut = join(dir, 'cut.jpg');
    writeFileSync(cut, jpg.subarray(0, jpg.length >> 1));
    const err = await readImage(cut).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('FvizError');
    expect((err as Error).message).toContain(cut);
    expect((err as Error).message).not.toContain('\n');
  });
});
