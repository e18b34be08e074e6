// The comparison's pictures: sheet.png (objectives x methods, plus the dataset's top examples) and
// progression.png (each method's frames at the chosen steps), both from the run folders on disk.
import { join } from 'node:path';
import { nchw, type Nchw } from '../image/nchw.ts';
import { readImage } from '../render/image.ts';
import { renderSheet, type SheetRow, type Tile } from '../render/sheet.ts';
import type { RunMetrics } from './metrics.ts';
import type { RunSpec } from './plan.ts';

export interface RowInfo {
  objective: string;
  /** Unit and class name, e.g. 'class:3 (cat)'. */
  label: string;
}

export interface DatasetCell {
  /** The unit's top dataset examples, best first. */
  examples: Nchw[];
  max: number;
}

/** Up to four images (same size) as one 2 x 2 mosaic, or the single image. */
export function mosaic(images: readonly Nchw[]): Nchw {
  const tiles = images.slice(0, 4);
  if (tiles.length === 1) return tiles[0]!;
  const [, , h, w] = tiles[0]!.dims;
  const out = nchw(1, 3, 2 * h, 2 * w);
  out.data.fill(1);
  tiles.forEach((t, k) => {
    const oy = Math.floor(k / 2) * h;
    const ox = (k % 2) * w;
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out.data[c * 4 * h * w + (oy + y) * 2 * w + ox + x] = t.data[c * h * w + y * w + x]!;
  });
  return out;
}

export function formatNumber(v: number | undefined, digits = 3): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(digits - 1);
  return v.toFixed(Math.max(0, digits - 1 - Math.floor(Math.log10(Math.max(a, 1)))));
}

function caption(m: RunMetrics | undefined): string | undefined {
  if (!m) return undefined;
  const parts = [`act ${formatNumber(m.activation)}`];
  if (m.activationFraction !== undefined && Number.isFinite(m.activationFraction)) parts[0] += ` (${formatNumber(100 * m.activationFraction, 2)}%)`;
  if (m.judge) parts.push(`judge: ${m.judge.label} ${formatNumber(m.judge.probability, 2)}`);
  return parts.join('\n');
}

export interface SheetInput {
  outDir: string;
  rows: RowInfo[];
  methods: string[];
  /** The seed whose images are shown. */
  seed: number;
  runs: RunSpec[];
  metrics: RunMetrics[];
  dataset?: DatasetCell[];
  title: string;
}

/** Rows = objectives, columns = methods (+ dataset examples); captions carry the activation and the judge's verdict. */
export async function comparisonSheet(o: SheetInput): Promise<Buffer> {
  const rows: SheetRow[] = [];
  for (let r = 0; r < o.rows.length; r++) {
    const cells: Tile[] = [];
    const captions: (string | undefined)[] = [];
    for (const method of o.methods) {
      const spec = o.runs.find((s) => s.objectiveIndex === r && s.method === method && s.seed === o.seed);
      cells.push(spec ? await readImage(join(o.outDir, spec.dir, 'result.png')) : null);
      captions.push(caption(o.metrics.find((m) => m.run === spec?.dir)));
    }
    const ds = o.dataset?.[r];
    if (o.dataset) {
      cells.push(ds && ds.examples.length ? mosaic(ds.examples) : null);
      captions.push(ds ? `max ${formatNumber(ds.max)}` : undefined);
    }
    rows.push({ label: o.rows[r]!.label, cells, captions });
  }
  const columns = [...o.methods, ...(o.dataset ? ['dataset top 4'] : [])];
  return renderSheet({ rows, columns, title: o.title });
}

export interface ProgressionInput {
  outDir: string;
  rows: RowInfo[];
  methods: string[];
  seed: number;
  runs: RunSpec[];
  /** Explicit frame steps (--frames): columns are labelled by step; otherwise by fraction of the run. */
  explicitFrames?: number[];
  title: string;
}

const FRACTION_LABELS = ['start', '1/16', '1/4', '1/2', 'end'];

/** For each objective and method (rows), the saved frames (columns); captions give the step. */
export async function progressionSheet(o: ProgressionInput): Promise<Buffer> {
  const columnSteps = o.explicitFrames ? [...new Set(o.explicitFrames)].sort((a, b) => a - b) : undefined;
  const ncol = columnSteps?.length ?? FRACTION_LABELS.length;
  const rows: SheetRow[] = [];
  for (let r = 0; r < o.rows.length; r++)
    for (const method of o.methods) {
      const spec = o.runs.find((s) => s.objectiveIndex === r && s.method === method && s.seed === o.seed);
      if (!spec) continue;
      const cells: Tile[] = [];
      const captions: (string | undefined)[] = [];
      for (let c = 0; c < ncol; c++) {
        // Default frames are [0, N/16, N/4, N/2, N] (deduplicated for short runs): match by position in that list.
        const step = columnSteps ? columnSteps[c]! : Math.round([0, 1 / 16, 1 / 4, 1 / 2, 1][c]! * spec.steps);
        if (!spec.frames.includes(step)) {
          cells.push(null);
          captions.push(undefined);
          continue;
        }
        cells.push(await readImage(join(o.outDir, spec.dir, 'frames', `step-${String(step).padStart(5, '0')}.png`)));
        captions.push(`step ${step}`);
      }
      rows.push({ label: `${method}\n${o.rows[r]!.label}`, cells, captions });
    }
  const columns = columnSteps ? columnSteps.map((s) => `step ${s}`) : FRACTION_LABELS;
  return renderSheet({ rows, columns, title: o.title });
}
