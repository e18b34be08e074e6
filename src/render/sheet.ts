// Labelled image grids (rows x columns with headers) and frame strips, as PNG. Tiles are scaled with
// nearest-neighbour when enlarged, so a 32x32 image stays crisp; text is SVG (DejaVu Sans from the system
// fonts) composited by sharp in one overlay. Sizes are chosen for reading at 100% zoom.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { FvizError } from '../errors.ts';
import type { Nchw } from '../image/nchw.ts';
import { toRgbBytes } from './image.ts';

/** An image in a cell: a batch (member 0) or a chosen member; null leaves the cell empty. */
export type Tile = Nchw | { image: Nchw; index?: number } | null;

export interface SheetRow {
  label: string;
  cells: Tile[];
  /** Optional small text under each cell (e.g. a metric). */
  captions?: (string | undefined)[];
}

export interface SheetOptions {
  rows: SheetRow[];
  /** Column headers (as many as the longest row). */
  columns: string[];
  title?: string;
  /** Edge of the square box each image is fitted into, px. Default: the largest image, enlarged by a whole factor to at least 128. */
  tile?: number;
  /** Space between tiles, px (default 6). */
  gap?: number;
  /** Header font size, px (default 14). */
  fontSize?: number;
}

const FONT = "'DejaVu Sans', 'Liberation Sans', Arial, sans-serif";
const MARGIN = 10;

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Rough advance width of DejaVu Sans: 0.62 em per character is a safe upper bound for mixed text. */
function textWidth(s: string, fontSize: number): number {
  return s.length * fontSize * 0.62;
}

/** Splits `text` into lines no wider than `width` at spaces (explicit newlines kept); long words are cut. */
export function wrapText(text: string, width: number, fontSize: number): string[] {
  const maxChars = Math.max(1, Math.floor(width / (fontSize * 0.62)));
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (let word of para.split(/\s+/).filter((w) => w.length > 0)) {
      while (word.length > maxChars) {
        if (line) {
          lines.push(line);
          line = '';
        }
        lines.push(word.slice(0, maxChars));
        word = word.slice(maxChars);
      }
      const next = line ? `${line} ${word}` : word;
      if (next.length > maxChars) {
        lines.push(line);
        line = word;
      } else line = next;
    }
    lines.push(line);
  }
  return lines;
}

function tileImage(t: Tile): { image: Nchw; index: number } | null {
  if (t === null) return null;
  if ('dims' in t) return { image: t, index: 0 };
  return { image: t.image, index: t.index ?? 0 };
}

/** The default box edge: the largest image side, times a whole factor that brings it to >= 128 px. */
export function defaultTileSize(images: Nchw[]): number {
  let side = 1;
  for (const im of images) side = Math.max(side, im.dims[2], im.dims[3]);
  return side >= 128 ? side : side * Math.ceil(128 / side);
}

async function tilePixels(t: { image: Nchw; index: number }, box: number): Promise<{ data: Buffer; width: number; height: number }> {
  const [, , h, w] = t.image.dims;
  const s = Math.min(box / h, box / w);
  const width = Math.max(1, Math.round(w * s));
  const height = Math.max(1, Math.round(h * s));
  const pipe = sharp(toRgbBytes(t.image, t.index), { raw: { width: w, height: h, channels: 3 } });
  const resized = width === w && height === h ? pipe : pipe.resize({ width, height, fit: 'fill', kernel: s >= 1 ? 'nearest' : 'lanczos3' });
  const data = await resized.raw().toBuffer();
  return { data, width, height };
}

interface TextItem {
  x: number;
  y: number;
  text: string;
  size: number;
  anchor: 'start' | 'middle' | 'end';
  bold: boolean;
}

export interface SheetLayout {
  width: number;
  height: number;
  tile: number;
  /** Top-left corner of each cell's tile box, [row][column]. */
  cells: { x: number; y: number }[][];
  texts: TextItem[];
}

/** Where everything goes; renderSheet draws it. */
export function sheetLayout(o: SheetOptions): SheetLayout {
  if (o.rows.length === 0) throw new FvizError('a sheet needs at least one row');
  const fs = o.fontSize ?? 14;
  const small = Math.max(10, fs - 2);
  const gap = o.gap ?? 6;
  const ncol = Math.max(o.columns.length, ...o.rows.map((r) => r.cells.length));
  const images = o.rows.flatMap((r) => r.cells.map(tileImage).filter((t): t is { image: Nchw; index: number } => t !== null));
  const tile = o.tile ?? defaultTileSize(images.map((t) => t.image));
  const line = Math.round(fs * 1.3);
  const smallLine = Math.round(small * 1.3);
  const titleLine = Math.round((fs + 2) * 1.3);

  const hasRowLabels = o.rows.some((r) => r.label.trim() !== '');
  const rowLabelWidth = hasRowLabels ? Math.ceil(Math.min(240, Math.max(60, ...o.rows.flatMap((r) => r.label.split('\n').map((l) => textWidth(l, fs)))))) : 0;
  const rowLines = o.rows.map((r) => (hasRowLabels ? wrapText(r.label, rowLabelWidth, fs) : []));
  const colLines = Array.from({ length: ncol }, (_, c) => wrapText(o.columns[c] ?? '', tile, fs));
  const headerH = o.columns.some((c) => c.trim() !== '') ? Math.max(...colLines.map((l) => l.length)) * line + 6 : 0;
  const captionLines = o.rows.map((r) => Array.from({ length: ncol }, (_, c) => (r.captions?.[c] ? wrapText(r.captions[c]!, tile, small) : [])));
  const captionH = o.rows.map((_, i) => Math.max(0, ...captionLines[i]!.map((l) => l.length)) * smallLine);
  const rowH = o.rows.map((_, i) => Math.max(tile, rowLines[i]!.length * line) + captionH[i]!);
  const titleLines = o.title ? wrapText(o.title, Math.max(400, ncol * (tile + gap)), fs + 2) : [];
  const titleH = titleLines.length ? titleLines.length * titleLine + 8 : 0;

  const x0 = MARGIN + (hasRowLabels ? rowLabelWidth + 10 : 0);
  const y0 = MARGIN + titleH + headerH;
  const width = Math.ceil(x0 + ncol * tile + (ncol - 1) * gap + MARGIN);
  const height = Math.ceil(y0 + rowH.reduce((a, b) => a + b, 0) + (o.rows.length - 1) * gap + MARGIN);
  const texts: TextItem[] = [];
  const text = (x: number, y: number, t: string, size: number, anchor: TextItem['anchor'], bold: boolean) => {
    if (t !== '') texts.push({ x, y, text: t, size, anchor, bold });
  };
  titleLines.forEach((l, i) => text(MARGIN, MARGIN + (i + 1) * titleLine - 4, l, fs + 2, 'start', true));
  colLines.forEach((lines, c) => {
    const cx = x0 + c * (tile + gap) + tile / 2;
    const top = y0 - 6 - lines.length * line;
    lines.forEach((l, i) => text(cx, top + (i + 1) * line - 4, l, fs, 'middle', true));
  });
  const cells: { x: number; y: number }[][] = [];
  let y = y0;
  for (let r = 0; r < o.rows.length; r++) {
    const lines = rowLines[r]!;
    const ty = y + tile / 2 - (lines.length * line) / 2;
    lines.forEach((l, i) => text(MARGIN + rowLabelWidth, ty + (i + 1) * line - 4, l, fs, 'end', true));
    const rowCells: { x: number; y: number }[] = [];
    for (let c = 0; c < ncol; c++) {
      const x = x0 + c * (tile + gap);
      rowCells.push({ x, y });
      captionLines[r]![c]!.forEach((l, i) => text(x + tile / 2, y + tile + (i + 1) * smallLine - 3, l, small, 'middle', false));
    }
    cells.push(rowCells);
    y += rowH[r]! + gap;
  }
  return { width, height, tile, cells, texts };
}

/** A labelled grid as PNG bytes (same options, same bytes). */
export async function renderSheet(o: SheetOptions): Promise<Buffer> {
  const L = sheetLayout(o);
  const { tile } = L;
  const composites: sharp.OverlayOptions[] = [];
  const shapes: string[] = [];
  for (let r = 0; r < o.rows.length; r++)
    for (let c = 0; c < L.cells[r]!.length; c++) {
      const { x, y } = L.cells[r]![c]!;
      const t = tileImage(o.rows[r]!.cells[c] ?? null);
      if (!t) {
        shapes.push(`<rect x="${x}" y="${y}" width="${tile}" height="${tile}" fill="#eeeeee"/>`);
        continue;
      }
      const px = await tilePixels(t, tile);
      composites.push({
        input: px.data,
        raw: { width: px.width, height: px.height, channels: 3 },
        left: Math.round(x + (tile - px.width) / 2),
        top: Math.round(y + (tile - px.height) / 2),
      });
    }
  const texts = L.texts.map(
    (t) =>
      `<text x="${t.x.toFixed(1)}" y="${t.y.toFixed(1)}" font-family="${FONT}" font-size="${t.size}" font-weight="${t.bold ? 'bold' : 'normal'}" fill="${t.bold ? '#111' : '#333'}" text-anchor="${t.anchor}">${escapeXml(t.text)}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}">${shapes.join('')}${texts.join('')}</svg>`;
  composites.unshift({ input: Buffer.from(svg), left: 0, top: 0 });
  const { data, info } = await sharp({ create: { width: L.width, height: L.height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(composites)
    .raw()
    .toBuffer({ resolveWithObject: true });
  // The SVG overlay brings an alpha channel; the sheet itself is opaque RGB.
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .removeAlpha()
    .png({ compressionLevel: 9, adaptiveFiltering: false, palette: false })
    .toBuffer();
}

export interface Frame {
  /** The step the frame was taken at (labelled "step N"), or any label. */
  label: string | number;
  image: Tile;
}

/** A single row of frames, e.g. steps 0, 4, 48, 2048 of one run. */
export async function renderStrip(frames: Frame[], o: { title?: string; rowLabel?: string; tile?: number; fontSize?: number } = {}): Promise<Buffer> {
  return renderSheet({
    rows: [{ label: o.rowLabel ?? '', cells: frames.map((f) => f.image) }],
    columns: frames.map((f) => (typeof f.label === 'number' ? `step ${f.label}` : f.label)),
    title: o.title,
    tile: o.tile,
    fontSize: o.fontSize,
  });
}

export async function writeSheet(file: string, png: Buffer | Promise<Buffer>): Promise<void> {
  const bytes = await png;
  try {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, bytes);
  } catch (e) {
    throw new FvizError(`cannot write '${file}': ${(e as Error).message}`, { subject: file, cause: e });
  }
}
