// The contact sheet of one channel: its top images, the receptive-field crops around their maxima, a row
// across the range by percentile, and its bottom images, each captioned with its activation.
import { basename } from 'node:path';
import type { Nchw } from '../image/nchw.ts';
import { nchw } from '../image/nchw.ts';
import { renderSheet, type SheetRow } from '../render/sheet.ts';

export interface SheetExample {
  /** RGB bytes (HWC) of the image at the probe's input size. */
  pixels: Uint8Array;
  name: string;
  value: number;
  /** [y0, x0, y1, x1) of the receptive field around the maximum, for spatial layers. */
  crop?: [number, number, number, number];
  percentile?: number;
}

/** HWC bytes (or a window of them) as a [1, 3, h, w] image in [0, 1]. */
export function bytesToNchw(px: Uint8Array, height: number, width: number, box: [number, number, number, number] = [0, 0, height, width]): Nchw {
  const [y0, x0, y1, x1] = box;
  const h = y1 - y0;
  const w = x1 - x0;
  const out = nchw(1, 3, h, w);
  const plane = h * w;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const src = ((y0 + y) * width + x0 + x) * 3;
      const dst = y * w + x;
      out.data[dst] = px[src]! / 255;
      out.data[plane + dst] = px[src + 1]! / 255;
      out.data[2 * plane + dst] = px[src + 2]! / 255;
    }
  return out;
}

export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : v.toPrecision(4);
}

/** The file's name, with its folder when that fits (CIFAR's 'cat/0123.jpg'), cut to `max` characters. */
function shortName(name: string, max = 18): string {
  const parts = name.split('/');
  const withFolder = parts.slice(-2).join('/');
  if (withFolder.length <= max) return withFolder;
  const b = basename(name);
  return b.length <= max ? b : `${b.slice(0, max - 1)}…`;
}

export interface ChannelSheet {
  title: string;
  size: [number, number];
  top: SheetExample[];
  bottom: SheetExample[];
  percentiles: SheetExample[];
  /** Whether to add the crops row. */
  crops: boolean;
}

export async function renderChannelSheet(s: ChannelSheet): Promise<Buffer> {
  const [H, W] = s.size;
  const full = (e: SheetExample) => bytesToNchw(e.pixels, H, W);
  const caption = (e: SheetExample, prefix = '') => `${prefix}${formatValue(e.value)}\n${shortName(e.name)}`;
  // Rows left empty (e.g. --bottom 0) are dropped.
  const rows: SheetRow[] = [{ label: 'top', cells: s.top.map(full), captions: s.top.map((e) => caption(e)) }];
  if (s.crops)
    rows.push({
      label: 'top: receptive field',
      cells: s.top.map((e) => bytesToNchw(e.pixels, H, W, e.crop)),
      captions: s.top.map((e) => (e.crop ? `rows ${e.crop[0]}-${e.crop[2] - 1}, cols ${e.crop[1]}-${e.crop[3] - 1}` : '')),
    });
  rows.push({ label: 'percentiles', cells: s.percentiles.map(full), captions: s.percentiles.map((e) => caption(e, `p${+(e.percentile ?? 0).toFixed(1)}: `)) });
  rows.push({ label: 'bottom', cells: s.bottom.map(full), captions: s.bottom.map((e) => caption(e)) });
  // Large inputs are shown at 128 px: a sheet per channel of a 512-channel layer stays a few hundred MB.
  const shown = rows.filter((r) => r.cells.length > 0);
  if (shown.length === 0) shown.push({ label: 'no examples', cells: [null] });
  return renderSheet({ rows: shown, columns: [], title: s.title, tile: Math.max(H, W) >= 128 ? 128 : undefined });
}
