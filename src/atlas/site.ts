// The atlas as a static site: index -> model -> layer (a grid of every unit) -> unit (methods side by side,
// progression, dataset examples with the activation spectrum, metrics, the command that reproduces it).
// Relative links only, so any static file server (or a bucket) serves it; small images are shown
// upscaled with nearest-neighbour sampling (CSS image-rendering: pixelated). The pages depend only on the
// plan and the shards' manifests, so the same atlas gives the same bytes however it was rendered.
import { readFileSync } from 'node:fs';
import type { ExamplesManifest, UnitExamples } from './examples.ts';
import { atlasPaths, layerSlug } from './paths.ts';
import { layerUnits, type AtlasPlan, type PlanLayer, type RenderShard } from './plan.ts';
import { writeFileAtomic, type ShardManifest, type UnitRender } from './render.ts';

const esc = (s: string | number) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
a{color:#1558b0;text-decoration:none}a:hover{text-decoration:underline}
img.px{image-rendering:pixelated;background:#eee}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(104px,1fr));gap:8px}
.grid a{display:block;text-align:center;font-size:12px;color:#444}
.grid img{width:96px;height:96px}
.methods{display:flex;flex-wrap:wrap;gap:16px}
.methods figure{margin:0}.methods img.px{width:192px;height:192px}
figcaption{font-size:12px;color:#555}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;text-align:right}
pre{background:#f4f4f4;padding:8px;overflow-x:auto}
nav{margin-bottom:1em;font-size:13px}`;

function page(title: string, depth: number, nav: [string, string][], body: string): string {
  const up = '../'.repeat(depth);
  const crumbs = nav.map(([href, text]) => (href ? `<a href="${up}${href}">${esc(text)}</a>` : esc(text))).join(' / ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">
<link rel="stylesheet" href="${up}style.css"></head>
<body><nav>${crumbs}</nav>
<h1>${esc(title)}</h1>
${body}
</body></html>
`;
}

export interface SiteData {
  renders: Map<string, ShardManifest>;
  examples: Map<string, ExamplesManifest>;
}

/** Reads every finished shard's manifest (all must be finished). */
export function readShards(dir: string, plan: AtlasPlan): SiteData {
  const renders = new Map<string, ShardManifest>();
  const examples = new Map<string, ExamplesManifest>();
  for (const s of plan.shards) {
    const m = JSON.parse(readFileSync(atlasPaths.shardManifest(dir, s.key), 'utf8')) as ShardManifest | ExamplesManifest;
    if (s.kind === 'examples') examples.set(s.layer, m as ExamplesManifest);
    else renders.set(s.key, m as ShardManifest);
  }
  return { renders, examples };
}

/** The unit's renders by method and seed. */
function unitRenders(plan: AtlasPlan, data: SiteData, layer: string, unit: number): { method: string; seed: number; r: UnitRender; frames: number[] }[] {
  const out: { method: string; seed: number; r: UnitRender; frames: number[] }[] = [];
  for (const s of plan.shards) {
    if (s.kind !== 'render' || s.layer !== layer || !s.units.includes(unit)) continue;
    const m = data.renders.get(s.key)!;
    out.push({ method: s.method, seed: s.seed, r: m.units.find((u) => u.unit === unit)!, frames: m.frames });
  }
  return out;
}

/** The command that renders this unit's shard again, bytes and all (its batch composition included). */
export function unitCommand(plan: AtlasPlan, shard: RenderShard): string {
  const range = shard.units.length === 1 ? `${shard.units[0]}` : `${shard.units[0]}-${shard.units.at(-1)}`;
  const contiguous = shard.units.every((u, i) => i === 0 || u === shard.units[i - 1]! + 1);
  const units = contiguous ? range : shard.units.join(',');
  const parts = ['fviz atlas', `--model ${plan.model.spec}`];
  if (shard.method === 'dgn' && plan.generator) parts.push(`--generator ${plan.generator.spec}`);
  parts.push(`--layers '${shard.layer}'`, `--methods ${shard.method}`, `--seeds ${shard.seed + 1}`, `--steps ${plan.steps}`, `--batch ${plan.batch}`, `--units ${units}`, '--out DIR');
  return parts.join(' ');
}

/** The command that makes the whole atlas. */
export function atlasCommand(plan: AtlasPlan): string {
  const parts = ['fviz atlas', `--model ${plan.model.spec}`];
  if (plan.generator) parts.push(`--generator ${plan.generator.spec}`);
  parts.push(`--layers '${plan.layers.map((l) => l.name).join(',')}'`, `--methods ${plan.methods.join(',')}`, `--seeds ${plan.seeds}`, `--steps ${plan.steps}`, `--batch ${plan.batch}`);
  if (plan.units) parts.push(`--units ${plan.units.join(',')}`);
  if (plan.dataset) parts.push(`--dataset ${plan.dataset}`);
  parts.push('--out DIR');
  return parts.join(' ');
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '-' : Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(2) : v.toFixed(3));

function layerPage(plan: AtlasPlan, data: SiteData, layer: PlanLayer): string {
  const first = plan.methods[0]!;
  const cells = layerUnits(layer, plan.units).map((u) => {
    const r = unitRenders(plan, data, layer.name, u).find((x) => x.method === first && x.seed === 0)!;
    return `<a href="../${atlasPaths.unitPage(layer.name, u)}"><img class="px" src="../${r.r.image}" alt="unit ${u}" width="96" height="96"><br>${u}</a>`;
  });
  return page(`${layer.name}`, 1, [['index.html', 'atlas'], ['model.html', plan.model.file], ['', layer.name]], `<p>${layerUnits(layer, plan.units).length} of ${layer.channels} units (tensor ${esc(layer.tensor)}, shape [${layer.shape.join(', ')}]); images by ${esc(first)}, seed 0. Each links to its unit page.</p>
<div class="grid">
${cells.join('\n')}
</div>`);
}

function examplesSection(ex: UnitExamples | undefined, m: ExamplesManifest | undefined): string {
  if (!ex || !m) return '<h2>Dataset examples</h2>\n<p>none: the atlas was made without --dataset.</p>';
  const s = ex.stats;
  return `<h2>Dataset examples</h2>
<p>Over ${m.images} images of ${esc(m.dataset)}: the top and bottom images with the receptive field of the maximum, then images across the range of the unit's activation (its activation spectrum).</p>
<img src="../../${ex.sheet}" alt="dataset examples of unit ${ex.unit}" style="max-width:100%">
<table><tr><th>mean</th><th>std</th><th>min</th><th>max</th><th>positive</th></tr><tr><td>${fmt(s.mean)}</td><td>${fmt(s.std)}</td><td>${fmt(s.min)}</td><td>${fmt(s.max)}</td><td>${s.positive}</td></tr></table>
<p>Top images: ${ex.top.map((t) => `${esc(t.file)}${t.class ? ` (${esc(t.class)})` : ''} ${fmt(t.value)}`).join(', ')}</p>`;
}

function unitPage(plan: AtlasPlan, data: SiteData, layer: PlanLayer, unit: number, units: number[]): string {
  const rs = unitRenders(plan, data, layer.name, unit);
  const figures = rs.map((x) => `<figure><img class="px" src="../../${x.r.image}" alt="${esc(x.method)} seed ${x.seed}" width="192" height="192"><figcaption>${esc(x.method)}, seed ${x.seed}: objective ${fmt(x.r.initial)} -> ${fmt(x.r.final)}</figcaption></figure>`);
  const progressions = rs.map(
    (x) => `<figure><img class="px" src="../../${x.r.progression}" alt="progression ${esc(x.method)} seed ${x.seed}" style="height:96px"><figcaption>${esc(x.method)}, seed ${x.seed}: steps ${x.frames.join(', ')}</figcaption></figure>`,
  );
  const metricNames = Object.keys(rs[0]!.r.metrics);
  const rows = rs.map((x) => `<tr><td>${esc(x.method)}</td><td>${x.seed}</td><td>${fmt(x.r.final)}</td>${metricNames.map((n) => `<td>${fmt((x.r.metrics as unknown as Record<string, number | null>)[n])}</td>`).join('')}</tr>`);
  const shards = plan.shards.filter((s): s is RenderShard => s.kind === 'render' && s.layer === layer.name && s.units.includes(unit));
  const i = units.indexOf(unit);
  const prev = i > 0 ? `<a href="${units[i - 1]}.html">&larr; unit ${units[i - 1]}</a>` : '';
  const next = i < units.length - 1 ? `<a href="${units[i + 1]}.html">unit ${units[i + 1]} &rarr;</a>` : '';
  const ex = data.examples.get(layer.name);
  return page(`${layer.name} unit ${unit}`, 2, [['index.html', 'atlas'], ['model.html', plan.model.file], [atlasPaths.layerPage(layer.name), layer.name], ['', `unit ${unit}`]], `<p>${prev} ${next}</p>
<h2>Methods</h2>
<div class="methods">
${figures.join('\n')}
</div>
<h2>Progression</h2>
<div class="methods">
${progressions.join('\n')}
</div>
${examplesSection(ex?.units.find((u) => u.unit === unit), ex)}
<h2>Metrics</h2>
<table><tr><th>method</th><th>seed</th><th>objective</th>${metricNames.map((n) => `<th>${esc(n)}</th>`).join('')}</tr>
${rows.join('\n')}
</table>
<h2>Reproduce</h2>
<p>Each render comes from a batch of units optimized together; these commands render that batch again, with the same bytes:</p>
${shards.map((s) => `<pre>${esc(unitCommand(plan, s))}</pre>`).join('\n')}`);
}

/** Writes the site's pages into `dir`; returns the pages written. */
export function writeSite(dir: string, plan: AtlasPlan): string[] {
  const data = readShards(dir, plan);
  const written: string[] = [];
  const put = (rel: string, text: string) => {
    writeFileAtomic(dir, rel, text);
    written.push(rel);
  };
  put('style.css', `${STYLE}\n`);
  put('index.html', page('fviz atlas', 0, [['', 'atlas']], `<ul><li><a href="model.html">${esc(plan.model.file)}</a> (sha256 ${plan.model.sha256.slice(0, 12)}): ${plan.layers.length} layer(s), ${plan.renders} renders</li></ul>
<h2>Made with</h2>
<pre>${esc(atlasCommand(plan))}</pre>`));
  const first = plan.methods[0]!;
  const layerRows = plan.layers.map((l) => {
    const units = layerUnits(l, plan.units);
    const thumbs = units.slice(0, 8).map((u) => {
      const r = unitRenders(plan, data, l.name, u).find((x) => x.method === first && x.seed === 0)!;
      return `<img class="px" src="${r.r.image}" alt="" width="32" height="32">`;
    });
    return `<li><a href="${atlasPaths.layerPage(l.name)}">${esc(l.name)}</a>: ${units.length} units ${thumbs.join('')}</li>`;
  });
  put('model.html', page(plan.model.file, 0, [['index.html', 'atlas'], ['', plan.model.file]], `<p>Model ${esc(plan.model.spec)} (sha256 ${plan.model.sha256}); methods ${esc(plan.methods.join(', '))}; ${plan.seeds} seed(s); ${plan.steps} steps; batch ${plan.batch}.</p>
<ul>
${layerRows.join('\n')}
</ul>`));
  for (const l of plan.layers) {
    put(atlasPaths.layerPage(l.name), layerPage(plan, data, l));
    const units = layerUnits(l, plan.units);
    for (const u of units) put(atlasPaths.unitPage(l.name, u), unitPage(plan, data, l, u, units));
  }
  return written;
}

export { layerSlug };
