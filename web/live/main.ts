// The live page: pick a method and an objective, watch the optimization step by step. The loops are
// Node's own (runDgnAm, runPpgn, runPixel from src/optvis, bundled; the Fourier parameterization in float64,
// fourier-in-page.ts); the programs come compiled from `fviz serve`
// and run on onnxruntime-web. window.fvizLive lets a test or a bench drive a run and read its numbers.
import type { Nchw } from '../../src/image/nchw.ts';
import type { TensorData } from '../../src/onnx/ir.ts';
import { ProgramRunner, type GradientProgram } from '../../src/optvis/objectives/program-run.ts';
import { fusedCodeProgram, watchCode, type CodeProgram } from '../../src/optvis/param/code.ts';
import { runDgnAm } from '../../src/optvis/render/dgn.ts';
import { fusedPpgnProgram, type PpgnCodeProgram } from '../../src/optvis/param/ppgn-step.ts';
import { runPpgn } from '../../src/optvis/render/ppgn.ts';
import { runPixel } from '../../src/optvis/render/pixel-run.ts';
import { DISPLAY_INPUT } from '../../src/classifier/display-input.ts';
import type { EncodeRequest, EncodeResponse, ErrorResponse, LiveInfo, ProgramKind, ProgramRequest, ProgramResponse, SpectrumResponse } from '../../src/live/protocol.ts';
import { defaultSettings, dgnOptionsFor, pixelOptionsFor, ppgnOptionsFor, type LiveSettings } from '../../src/live/run-options.ts';
import { configureOrt, createWebSession, ortWebVersion } from './ort-web.ts';

/** What a finished (or stopped) run leaves: enough to compare with Node's and to write run.json. */
export interface LiveRun {
  method: string;
  settings: LiveSettings;
  /** Settings at each step (sliders may move during a run). */
  stepSettings: Pick<LiveSettings, 'stepSize' | 'codeL2' | 'noise' | 'eps1' | 'eps2' | 'eps3'>[];
  terms: string[];
  /** Objective per item at each step, then the final value. */
  history: number[][];
  /** The image of the first `keepFrames` steps (DGN-AM, PPGN: the generated image; pixel methods: what the network saw). */
  frames: number[][];
  /** Whether the run started from a dropped image. */
  fromImage: string | null;
  threads: number;
  msPerStep: number;
  /** Per step, the milliseconds of the step's work: the program run and the loop's update, not the page's painting between steps. */
  stepMs: number[];
  stopped: boolean;
  error: string | null;
}

class Stop extends Error {}

/**
 * Lets the page paint and handle input between steps: onnxruntime-web on the main thread resolves a run
 * through microtasks only, so without a task boundary a whole run would block the page until it ends.
 */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => resolve();
    c.port2.postMessage(null);
  });
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const SLIDERS = ['stepSize', 'codeL2', 'noise', 'jitter', 'l2', 'tv', 'eps1', 'eps2', 'eps3'] as const;

const params = new URLSearchParams(location.search);
const threads = configureOrt(Number(params.get('threads') ?? Math.min(4, navigator.hardwareConcurrency || 1)));
let info: LiveInfo;
const programs = new Map<string, Promise<{ resp: ProgramResponse; runner: ProgramRunner }>>();
let current: { stop: boolean; done: Promise<LiveRun> } | undefined;
let lastRun: LiveRun | undefined;
let droppedImage: { name: string; image: Nchw } | undefined;
let keepFrames = 0;

function message(line: string): void {
  $('message').textContent = line;
}
function status(line: string): void {
  $('status').textContent = line;
}

function settings(): LiveSettings {
  const num = (id: string) => Number(($(id) as HTMLInputElement).value);
  return {
    method: ($('method') as HTMLSelectElement).value,
    objective: ($('objective') as HTMLInputElement).value,
    seed: num('seed'),
    steps: Math.max(1, Math.round(num('steps'))),
    stepSize: num('stepSize'),
    codeL2: num('codeL2'),
    noise: num('noise'),
    jitter: num('jitter'),
    l2: num('l2'),
    tv: num('tv'),
    eps1: num('eps1'),
    eps2: num('eps2'),
    eps3: num('eps3'),
  };
}

function showSettings(s: LiveSettings): void {
  ($('method') as HTMLSelectElement).value = s.method;
  ($('objective') as HTMLInputElement).value = s.objective;
  ($('seed') as HTMLInputElement).value = String(s.seed);
  ($('steps') as HTMLInputElement).value = String(s.steps);
  for (const k of SLIDERS) ($(k) as HTMLInputElement).value = String(s[k]);
  showSliderValues();
}

function showSliderValues(): void {
  for (const k of SLIDERS) {
    const input = $(k) as HTMLInputElement;
    (input.nextElementSibling as HTMLOutputElement).value = input.value;
  }
  const m = settings().method;
  document.body.className = m === 'dgn' || m === 'ppgn' ? m : 'pixel';
}

/** Draws item 0 of an N x 3 x H x W image in [0, 1] (clamped) onto a canvas. */
function draw(canvas: HTMLCanvasElement, t: TensorData): void {
  const [, , h, w] = t.dims as number[];
  const d = t.data as Float32Array;
  canvas.width = w!;
  canvas.height = h!;
  const ctx = canvas.getContext('2d')!;
  const img = ctx.createImageData(w!, h!);
  const hw = h! * w!;
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < 3; c++) img.data[p * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, d[c * hw + p]!)));
    img.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function plot(history: number[][]): void {
  const c = $('plot') as HTMLCanvasElement;
  const ctx = c.getContext('2d')!;
  ctx.clearRect(0, 0, c.width, c.height);
  const ys = history.map((r) => r[0]!);
  if (ys.length < 1) return;
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const span = hi - lo || 1;
  const pad = 18;
  ctx.strokeStyle = '#1976d2';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ys.forEach((y, i) => {
    const x = pad + ((c.width - 2 * pad) * i) / Math.max(1, ys.length - 1);
    const yy = c.height - pad - ((c.height - 2 * pad) * (y - lo)) / span;
    if (i === 0) ctx.moveTo(x, yy);
    else ctx.lineTo(x, yy);
  });
  ctx.stroke();
  ctx.fillStyle = '#444';
  ctx.font = '11px system-ui';
  ctx.fillText(`objective ${hi.toPrecision(4)}`, 4, 12);
  ctx.fillText(lo.toPrecision(4), 4, c.height - 4);
}

function keepFrame(step: number, image: TensorData): void {
  const fig = document.createElement('figure');
  const cv = document.createElement('canvas');
  draw(cv, image);
  const cap = document.createElement('figcaption');
  cap.textContent = `step ${step}`;
  fig.append(cv, cap);
  $('frames').append(fig);
}

async function postProgram(req: ProgramRequest): Promise<ProgramResponse> {
  if (info.static) {
    // A static build (fviz serve --write-to): only the programs written beside the page.
    const index = (await (await fetch('api/programs.json')).json()) as Record<string, ProgramResponse>;
    const hit = index[`${req.method}\n${req.objective}`];
    if (!hit) throw new Error(`this static page has programs for ${[...new Set(Object.keys(index).map((k) => k.split('\n')[1]))].join(', ')} only: run fviz serve for '${req.objective}'`);
    return hit;
  }
  const r = await fetch('api/program', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
  const body = (await r.json()) as ProgramResponse | ErrorResponse;
  if ('error' in body) throw new Error(body.error);
  return body;
}

/** A dropped image's code through the generator card's encoder (run by the server). */
async function encode(image: Nchw): Promise<number[]> {
  if (info.static) throw new Error('this static page cannot encode an image for DGN-AM or PPGN: run fviz serve, or choose a pixel method');
  if (!info.dgn?.encoder) throw new Error('the generator card names no encoder, so DGN-AM and PPGN cannot start from an image: choose a pixel method');
  const r = await fetch('api/encode', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ image: Array.from(image.data) } satisfies EncodeRequest) });
  const body = (await r.json()) as EncodeResponse | ErrorResponse;
  if ('error' in body) throw new Error(body.error);
  return body.code;
}

let spectrum: Promise<Float64Array> | undefined;

/** MaCo's fixed magnitude: the server's dataset spectrum (fetched once per page). */
function magnitude(): Promise<Float64Array> {
  if (!spectrum) {
    spectrum = (async () => {
      if (!info.spectrum) throw new Error('this server has no dataset spectrum for MaCo: start fviz serve with --dataset cifar10 (or an image folder)');
      const body = (await (await fetch('api/spectrum')).json()) as SpectrumResponse | ErrorResponse;
      if ('error' in body) throw new Error(body.error);
      return Float64Array.from(body.magnitude);
    })();
    spectrum.catch(() => (spectrum = undefined));
  }
  return spectrum;
}

/** The compiled program for a method and objective, loaded into onnxruntime-web (once per page). */
function program(method: ProgramKind, objective: string) {
  const key = `${method}\n${objective.trim()}`;
  let p = programs.get(key);
  if (!p) {
    p = (async () => {
      const resp = await postProgram({ method, objective: objective.trim() });
      const bytes = new Uint8Array(await (await fetch(resp.url)).arrayBuffer());
      const runner = await ProgramRunner.open(bytes, resp.meta, createWebSession, { source: objective, threads });
      return { resp, runner };
    })();
    programs.set(key, p);
    p.catch(() => programs.delete(key));
  }
  return p;
}

async function runOnce(state: { stop: boolean }, fromImage?: { name: string; image: Nchw }): Promise<LiveRun> {
  const s0 = settings();
  const method = s0.method;
  const s = { ...s0 };
  const run: LiveRun = { method, settings: s, stepSettings: [], terms: [], history: [], frames: [], fromImage: fromImage?.name ?? null, threads, msPerStep: 0, stepMs: [], stopped: false, error: null };
  $('frames').replaceChildren();
  plot([]);
  const image = $('image') as HTMLCanvasElement;
  const live = () => ({ ...settings(), method, steps: s.steps, seed: s.seed });
  const frameSteps = new Set([0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
  let step = 0;
  // A step's work runs from the end of one yield to the page (beforeStep) to the start of the next.
  let tStep = 0;
  const beforeStep = async () => {
    if (tStep) run.stepMs.push(performance.now() - tStep);
    await yieldToPage();
    tStep = performance.now();
  };
  const onImage = (img: TensorData) => {
    if (state.stop) throw new Stop();
    draw(image, img);
    if (step < keepFrames) run.frames.push(Array.from(img.data as Float32Array));
    if (frameSteps.has(step)) keepFrame(step, img);
    const cur = live();
    run.stepSettings.push({ stepSize: cur.stepSize, codeL2: cur.codeL2, noise: cur.noise, eps1: cur.eps1, eps2: cur.eps2, eps3: cur.eps3 });
    step++;
  };
  const onStep = (i: number, perItem: number[]) => {
    run.history.push(perItem);
    status(`step ${i + 1} / ${s.steps}: objective ${perItem[0]!.toPrecision(5)}`);
    if (i % 2 === 0 || i === s.steps - 1) plot(run.history);
  };
  status(`compiling ${method} ${s.objective} on the server...`);
  const { resp, runner } = await program(method === 'dgn' || method === 'ppgn' ? method : 'pixel', s.objective);
  run.terms = resp.terms;
  status(`running ${resp.terms.join(' + ')}`);
  const t0 = performance.now();
  try {
    if (method === 'dgn') {
      const watched: CodeProgram = watchCode(fusedCodeProgram(runner, resp.codeInput!, resp.codeShape!), (r) => onImage(r.image), beforeStep);
      const init = fromImage ? Float32Array.from(await encode(fromImage.image)) : undefined;
      const res = await runDgnAm(watched, dgnOptionsFor(info, live, { onStep: (x) => onStep(x.step, x.perItem), ...(init ? { init } : {}) }));
      run.history = res.history;
    } else if (method === 'ppgn') {
      const watched: PpgnCodeProgram = watchCode(fusedPpgnProgram(runner, resp.codeInput!, resp.codeShape!, resp.codeTensor!), (r) => onImage(r.image), beforeStep);
      const init = fromImage ? Float32Array.from(await encode(fromImage.image)) : undefined;
      const res = await runPpgn(watched, ppgnOptionsFor(info, live, { onStep: (x) => onStep(x.step, x.perItem), ...(init ? { init } : {}) }));
      run.history = res.history;
    } else {
      const watched: GradientProgram = {
        async run(feeds) {
          await beforeStep();
          onImage(Object.values(feeds)[0]!);
          return runner.run(feeds);
        },
        release: async () => {},
      };
      const mag = method === 'maco' ? await magnitude() : undefined;
      const res = await runPixel(watched, info.size, pixelOptionsFor(live, fromImage?.image, mag), {}, onStep);
      run.history = res.history;
      draw(image, res.image);
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    run.stopped = true;
  }
  run.msPerStep = (performance.now() - t0) / Math.max(1, step);
  plot(run.history);
  const last = run.history.at(-1);
  status(`${run.stopped ? 'stopped' : 'done'}: ${step} evaluations, ${run.msPerStep.toFixed(1)} ms per step, ${threads} thread(s); objective ${run.history[0]?.[0]?.toPrecision(4)} -> ${last?.[0]?.toPrecision(4)}`);
  return run;
}

function downloads(run: LiveRun): void {
  ($('png') as HTMLAnchorElement).href = ($('image') as HTMLCanvasElement).toDataURL('image/png');
  const { frames: _frames, ...rest } = run;
  const json = { tool: 'fviz live', model: info.model, generator: info.generator, onnxruntime: ortWebVersion, ...rest };
  ($('json') as HTMLAnchorElement).href = URL.createObjectURL(new Blob([JSON.stringify(json, null, 2)], { type: 'application/json' }));
}

/** Starts a run (stopping the one going); resolves with it when it ends. */
async function start(fromImage?: { name: string; image: Nchw }): Promise<LiveRun> {
  if (current) {
    current.stop = true;
    await current.done.catch(() => undefined);
  }
  message('');
  const state = { stop: false, done: undefined as unknown as Promise<LiveRun> };
  ($('stop') as HTMLButtonElement).disabled = false;
  state.done = runOnce(state, fromImage)
    .then((run) => {
      lastRun = run;
      downloads(run);
      return run;
    })
    .catch((e: unknown) => {
      const line = e instanceof Error ? e.message : String(e);
      message(line);
      status('');
      const s = settings();
      lastRun = { method: s.method, settings: s, stepSettings: [], terms: [], history: [], frames: [], fromImage: null, threads, msPerStep: 0, stepMs: [], stopped: false, error: line };
      return lastRun;
    })
    .finally(() => {
      if (current === state) ($('stop') as HTMLButtonElement).disabled = true;
    });
  current = state;
  return state.done;
}

/** Decodes a dropped or chosen file to the classifier's input size, or says in one line why it cannot. */
async function imageFromFile(file: File): Promise<Nchw> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name} is not an image the browser can decode: drop a PNG, JPEG, GIF or WebP file`);
  }
  const [h, w] = info.size;
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  const data = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) for (let ch = 0; ch < 3; ch++) data[ch * h * w + p] = px[p * 4 + ch]! / 255;
  return { dtype: 'float32', dims: [1, 3, h, w], data };
}

async function startFromFile(file: File): Promise<LiveRun | undefined> {
  try {
    droppedImage = { name: file.name, image: await imageFromFile(file) };
  } catch (e) {
    message(e instanceof Error ? e.message : String(e));
    return undefined;
  }
  return start(droppedImage);
}

function wire(): void {
  const methodSel = $('method') as HTMLSelectElement;
  for (const m of info.methods) methodSel.append(new Option(m, m));
  const list = $('objectives');
  for (const e of info.examples) list.append(new Option(e, e));
  methodSel.addEventListener('change', () => {
    showSettings(defaultSettings(info, methodSel.value, settings().objective));
  });
  for (const k of SLIDERS) $(k).addEventListener('input', showSliderValues);
  $('run').addEventListener('click', () => void start());
  $('stop').addEventListener('click', () => {
    if (current) current.stop = true;
  });
  $('restart').addEventListener('click', () => {
    const seed = $('seed') as HTMLInputElement;
    seed.value = String(Number(seed.value) + 1);
    void start();
  });
  ($('file') as HTMLInputElement).addEventListener('change', (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) void startFromFile(f);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void startFromFile(f);
    else message('the drop held no file: drop an image file (PNG, JPEG, GIF or WebP)');
  });
}

export interface FvizLive {
  info: LiveInfo;
  threads: number;
  crossOriginIsolated: boolean;
  /** Sets the controls (unnamed ones keep their values). */
  set(s: Partial<LiveSettings>): void;
  settings(): LiveSettings;
  /** Keep the images of the first n steps of the runs started from now on (by the page's controls too). */
  keepFrames(n: number): void;
  /** Starts a run from the controls, keeping the images of the first `keepFrames` steps. */
  run(opts?: { keepFrames?: number }): Promise<LiveRun>;
  stop(): void;
  last(): LiveRun | undefined;
  /** The run going now, if any. */
  running(): Promise<LiveRun> | undefined;
  /** One evaluation of a method's program at given values (a DGN code, or pixels): objective, gradient, image. */
  evaluate(method: 'dgn' | 'pixel', objective: string, values: number[]): Promise<{ perItem: number[]; grad: number[]; image: number[] }>;
}

declare global {
  interface Window {
    fvizLive: Promise<FvizLive>;
  }
}

window.fvizLive = (async () => {
  const r = await fetch('api/info');
  info = (await r.json()) as LiveInfo;
  $('model').textContent = `${info.model}${info.generator ? ` + ${info.generator}` : ''}`;
  $('runtime').textContent = `onnxruntime-web ${ortWebVersion}, ${threads} thread(s)${crossOriginIsolated ? '' : ' (not cross-origin isolated)'}`;
  wire();
  showSettings(defaultSettings(info));
  status('ready: choose a method and an objective, then Run (or drop an image)');
  return {
    info,
    threads,
    crossOriginIsolated,
    set(s) {
      showSettings({ ...settings(), ...s });
    },
    settings,
    keepFrames(n) {
      keepFrames = n;
    },
    run(opts = {}) {
      keepFrames = opts.keepFrames ?? 0;
      return start();
    },
    stop() {
      if (current) current.stop = true;
    },
    last: () => lastRun,
    running: () => current?.done,
    async evaluate(method, objective, values) {
      const { resp, runner } = await program(method, objective);
      const input = method === 'dgn' ? resp.codeInput! : resp.meta.wrt[0]!;
      const dims = method === 'dgn' ? resp.codeShape! : [1, 3, ...info.size];
      const r = await runner.run({ [input]: { dtype: 'float32', dims, data: Float32Array.from(values) } });
      const image = method === 'dgn' ? (r.outputs[DISPLAY_INPUT]!.data as Float32Array) : Float32Array.from(values);
      return { perItem: r.perItem, grad: Array.from(r.grads.get(input)!.data as Float32Array), image: Array.from(image) };
    },
  };
})();
