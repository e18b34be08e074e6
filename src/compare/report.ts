// report.html: one self-contained page (images as data: URIs, inline CSS and vanilla JS, nothing fetched)
// with the sheet, the progressions, the summary over seeds, a sortable per-image table and every parameter.
import { formatNumber } from './figures.ts';
import { NUMERIC_METRICS, numericValue, type NumericMetric, type RunMetrics, type SummaryRow } from './metrics.ts';
import type { DataQuality, MethodQuality } from './quality.ts';

export interface ReportInput {
  title: string;
  /** Every parameter of the comparison (flags and resolved values), shown as a table. */
  parameters: Record<string, unknown>;
  models: { role: string; name: string; path: string; sha256: string }[];
  /** Each method's own parameters, as its runs recorded them. */
  methodParameters: Record<string, Record<string, unknown>>;
  sheetPng: Buffer;
  progressionPng: Buffer;
  metrics: RunMetrics[];
  summary: SummaryRow[];
  /** Per method over objectives and seeds (blow-outs, diversity, recognition, slope). */
  methods?: MethodQuality[];
  /** The same figures for the dataset's own images. */
  data?: DataQuality;
  /** result.png bytes per run folder, for the thumbnails. */
  thumbnails: Map<string, Buffer>;
  /** Files beside the report, linked. */
  files: string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function pngDataUri(png: Buffer): string {
  return `data:image/png;base64,${png.toString('base64')}`;
}

/** Width from a PNG's IHDR chunk. */
function pngWidth(png: Buffer): number {
  return png.length >= 24 ? png.readUInt32BE(16) : 0;
}

function valueText(v: unknown): string {
  if (v === undefined || v === null) return '–';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '–';
  return JSON.stringify(v);
}

/** The numeric columns that have at least one value. */
function presentMetrics(rows: readonly RunMetrics[]): (typeof NUMERIC_METRICS)[number][] {
  return NUMERIC_METRICS.filter(([key]) => rows.some((r) => numericValue(r, key) !== undefined));
}

function numCell(v: number | undefined, digits = 4): string {
  const ok = v !== undefined && Number.isFinite(v);
  return `<td class="num" data-v="${ok ? v : ''}">${escapeHtml(formatNumber(v, digits))}</td>`;
}

function intCell(v: number): string {
  return `<td class="num" data-v="${v}">${v}</td>`;
}

function textCell(s: string): string {
  return `<td data-v="${escapeHtml(s)}">${escapeHtml(s)}</td>`;
}

function metricsTable(o: ReportInput): string {
  const cols = presentMetrics(o.metrics);
  const judged = o.metrics.some((m) => m.judge);
  const head = [
    '<th data-sort="none">image</th>',
    '<th>objective</th>',
    '<th>unit</th>',
    '<th>method</th>',
    '<th data-type="number">seed</th>',
    ...cols.map(([, label]) => `<th data-type="number">${escapeHtml(label)}</th>`),
    ...(judged ? ['<th>judge top-1</th>'] : []),
    '<th>run folder</th>',
  ].join('');
  const body = o.metrics
    .map((m) => {
      const thumb = o.thumbnails.get(m.run);
      // Enlarged small images stay crisp; large ones are shrunk smoothly.
      const cls = thumb && pngWidth(thumb) < 64 ? 'thumb pixel' : 'thumb';
      const img = thumb ? `<img class="${cls}" src="${pngDataUri(thumb)}" alt="${escapeHtml(`${m.method} ${m.objective} seed ${m.seed}`)}">` : '';
      return [
        '<tr>',
        `<td>${img}</td>`,
        textCell(m.objective),
        textCell(m.terms.length === 1 ? m.terms[0]! : m.unit),
        textCell(m.method),
        intCell(m.seed),
        ...cols.map(([key]) => numCell(numericValue(m, key))),
        ...(judged ? [textCell(m.judge ? m.judge.label : '')] : []),
        `<td data-v="${escapeHtml(m.run)}"><a href="${escapeHtml(m.run)}/run.json">${escapeHtml(m.run)}</a></td>`,
        '</tr>',
      ].join('');
    })
    .join('\n');
  return `<table id="metrics" class="sortable"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function summaryTable(o: ReportInput): string {
  const cols = presentMetrics(o.metrics);
  const judged = o.summary.some((s) => s.judgeLabels);
  const diverse = o.summary.some((s) => s.diversity);
  const head = [
    '<th>objective</th>',
    '<th>method</th>',
    '<th data-type="number">seeds</th>',
    ...cols.map(([, label]) => `<th data-type="number">${escapeHtml(label)} (mean ± sd)</th>`),
    ...(judged ? ['<th>judge top-1 (count)</th>'] : []),
    ...(diverse ? ['<th data-type="number">diversity</th>', '<th data-type="number">diversity / real</th>'] : []),
  ].join('');
  const body = o.summary
    .map((s) => {
      const cells = cols.map(([key]: readonly [NumericMetric, string]) => {
        const v = s.metrics[key];
        if (!v) return '<td class="num" data-v="">–</td>';
        return `<td class="num" data-v="${Number.isFinite(v.mean) ? v.mean : ''}">${escapeHtml(formatNumber(v.mean, 4))} ± ${escapeHtml(formatNumber(v.std, 2))}</td>`;
      });
      const judge = judged ? [textCell((s.judgeLabels ?? []).map((j) => `${j.label} (${j.count})`).join(', '))] : [];
      const diversity = diverse ? [numberCell(s.diversity?.images), numberCell(s.diversity?.ratio)] : [];
      return ['<tr>', textCell(s.objective), textCell(s.method), intCell(s.n), ...cells, ...judge, ...diversity, '</tr>'].join('');
    })
    .join('\n');
  return `<table id="summary" class="sortable"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function numberCell(v: number | undefined, digits = 4): string {
  return v === undefined || !Number.isFinite(v) ? '<td class="num" data-v="">–</td>' : `<td class="num" data-v="${v}">${escapeHtml(formatNumber(v, digits))}</td>`;
}

function percentCell(v: number | undefined): string {
  return v === undefined ? '<td class="num" data-v="">–</td>' : `<td class="num" data-v="${v}">${(100 * v).toFixed(1)}%</td>`;
}

/** Per method over every objective and seed, and the dataset's own images as the last row. */
function methodsTable(o: ReportInput): string {
  if (!o.methods?.length) return '';
  const head = ['method', 'images', 'blown-out values', 'diversity', 'diversity / real', 'judge recognises', 'spectrum slope']
    .map((h, i) => `<th${i > 0 ? ' data-type="number"' : ''}>${h}</th>`)
    .join('');
  const rows = o.methods.map((m) =>
    ['<tr>', textCell(m.method), intCell(m.images), percentCell(m.blownOut), numberCell(m.diversity), numberCell(m.diversityRatio, 3), percentCell(m.recognised), numberCell(m.spectrumSlope, 3), '</tr>'].join(''),
  );
  const d = o.data;
  if (d) rows.push(['<tr class="data">', textCell(`real: ${d.description}`), intCell(d.images), percentCell(d.blownOut), numberCell(undefined), numberCell(1, 3), percentCell(d.recognised), numberCell(d.spectrumSlope, 3), '</tr>'].join(''));
  return `<h2>Methods</h2>
<p class="note">Over every objective and seed. Blown-out values: 8-bit levels &lt;= 2 or &gt;= 253. Diversity: mean pairwise distance between the seeds' images in the judge's penultimate features (L2-normalized); / real: against the same over real images of the class (or the unit's top dataset examples). Judge recognises: class objectives whose image the judge labels as the class.</p>
<div class="scroll"><table id="methods" class="sortable"><thead><tr>${head}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table></div>`;
}

function parameterTable(params: Record<string, unknown>): string {
  const rows = Object.entries(params)
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td><code>${escapeHtml(valueText(v))}</code></td></tr>`)
    .join('\n');
  return `<table class="params"><tbody>\n${rows}\n</tbody></table>`;
}

const STYLE = `
body { font-family: 'DejaVu Sans', system-ui, sans-serif; margin: 24px; color: #111; background: #fff; max-width: 1600px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
img.figure { display: block; max-width: none; image-rendering: pixelated; border: 1px solid #ddd; }
.scroll { overflow-x: auto; }
img.thumb { width: 64px; height: 64px; display: block; }
img.thumb.pixel { image-rendering: pixelated; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: middle; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable thead th { background: #f3f3f3; cursor: pointer; user-select: none; white-space: nowrap; }
table.sortable thead th[data-sort="none"] { cursor: default; }
table.sortable thead th[aria-sort="ascending"]::after { content: " ▲"; }
table.sortable thead th[aria-sort="descending"]::after { content: " ▼"; }
table.params th { background: #f7f7f7; font-weight: normal; white-space: nowrap; }
code { font-size: 12px; word-break: break-all; }
p.note { color: #444; font-size: 13px; max-width: 900px; }
`;

// Click a header: sort ascending, click again: descending. Numbers compare as numbers, blanks go last,
// ties keep their current order.
const SCRIPT = `
(function () {
  function key(cell, numeric) {
    var raw = cell ? cell.getAttribute('data-v') : null;
    if (raw === null) raw = cell ? cell.textContent : '';
    if (!numeric) return raw;
    return raw === '' ? NaN : Number(raw);
  }
  function sortBy(table, col, th) {
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) heads[h].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var numeric = th.getAttribute('data-type') === 'number';
    var body = table.tBodies[0];
    var rows = Array.prototype.map.call(body.rows, function (r, i) { return { r: r, i: i, v: key(r.cells[col], numeric) }; });
    rows.sort(function (a, b) {
      var c;
      if (numeric) {
        var an = isNaN(a.v), bn = isNaN(b.v);
        if (an || bn) return an === bn ? a.i - b.i : an ? 1 : -1;
        c = a.v - b.v;
      } else c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
      return (asc ? c : -c) || a.i - b.i;
    });
    rows.forEach(function (x) { body.appendChild(x.r); });
  }
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      if (th.getAttribute('data-sort') === 'none') return;
      th.tabIndex = 0;
      th.title = 'sort by this column';
      th.addEventListener('click', function () { sortBy(table, col, th); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sortBy(table, col, th); }
      });
    });
  });
})();
`;

export function reportHtml(o: ReportInput): string {
  const models = o.models.map((m) => `<tr><th scope="row">${escapeHtml(m.role)}</th><td>${escapeHtml(m.name)}</td><td><code>${escapeHtml(m.path)}</code></td><td><code>${escapeHtml(m.sha256)}</code></td></tr>`).join('\n');
  const methodParams = Object.entries(o.methodParameters)
    .map(([method, p]) => `<h3>method ${escapeHtml(method)}</h3>\n${parameterTable(p)}`)
    .join('\n');
  const files = o.files.map((f) => `<a href="${escapeHtml(f)}">${escapeHtml(f)}</a>`).join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(o.title)}</h1>
<p class="note">Every method on every objective from the same seeds. Activation: the target unit (the objective's first term) on the saved 8-bit image; objective: the run's own final value. HF energy ratio: share of luminance power above 1/4 of Nyquist. Spectrum slope: log-log slope of the radially averaged power spectrum (photographs: about −2, white noise: 0). Total variation: mean absolute neighbour difference. Files: ${files}</p>
<h2>Sheet</h2>
<div class="scroll"><img class="figure" id="sheet" src="${pngDataUri(o.sheetPng)}" alt="comparison sheet"></div>
<h2>Progression</h2>
<div class="scroll"><img class="figure" id="progression" src="${pngDataUri(o.progressionPng)}" alt="frames of each method at the chosen steps"></div>
${methodsTable(o)}
<h2>Summary over seeds</h2>
<div class="scroll">${summaryTable(o)}</div>
<h2>Every image</h2>
<p class="note">Click a column header to sort by it; click again to reverse.</p>
<div class="scroll">${metricsTable(o)}</div>
<h2>Parameters</h2>
${parameterTable(o.parameters)}
<h3>Models</h3>
<table class="params"><tbody>
${models}
</tbody></table>
${methodParams}
<script>${SCRIPT}</script>
</body>
</html>
`;
}
