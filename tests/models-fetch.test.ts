// fviz models fetch/add/list against an HTTP server on 127.0.0.1 that this file starts: good files install
// with their cards, wrong hashes are refused leaving nothing behind, dropped connections resume with Range,
// an unreachable host gives one line, a Caffe generator inside a zip is extracted and converted.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeCaffemodel } from '../src/caffe/caffemodel.ts';
import { openClassifier } from '../src/classifier/card.ts';
import { openGenerator } from '../src/generator/card.ts';
import type { Model, TensorData } from '../src/onnx/ir.ts';
import { emptyGraph, emptyModel } from '../src/onnx/ir.ts';
import { encodeModel, readModel } from '../src/onnx/proto.ts';
import { tensor } from '../src/onnx/tensor.ts';
import { Rng } from '../src/util/rng.ts';
import { resolveClassifier, resolveGenerator } from '../src/models/registry.ts';
import { addModel, fetchModel, listModels } from '../src/models/install.ts';
import { zip } from './helpers/zip.ts';
import { deriveCaffe2Aliases } from '../src/models/caffe-aliases.ts';
import { prepareModel } from '../src/onnx/prepare.ts';

const root = mkdtempSync(join(tmpdir(), 'fviz-models-'));
let cache = '';
let caseNo = 0;
beforeEach(() => {
  cache = join(root, `cache${caseNo++}`);
  process.env['FVIZ_MODELS'] = cache;
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const quiet = { progress: false, log: () => {} };

// ------------------------------------------------------------------ test models

const rng = new Rng(5);
const rand = (dims: number[]): TensorData => tensor('float32', dims, Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * 0.1));

/** A classifier named the way Caffe2's exporter names the zoo's GoogLeNet: every write of a blob is `<blob>_<k>`. */
function zooStyleClassifier(): Model {
  const g = emptyGraph('zoo');
  g.inputs.push({ name: 'data_0', dtype: 'float32', shape: [1, 3, 8, 8] });
  const init = (name: string, t: TensorData) => (g.initializers.set(name, t), name);
  const node = (opType: string, inputs: string[], outputs: string[], attrs = {}) => g.nodes.push({ name: '', opType, domain: '', inputs, outputs, attrs });
  node('Conv', ['data_0', init('conv1_w_0', rand([4, 3, 3, 3])), init('conv1_b_0', rand([4]))], ['conv1_1'], { kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
  node('Relu', ['conv1_1'], ['conv1_2']);
  node('MaxPool', ['conv1_2'], ['pool1_1'], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });
  node('Dropout', ['pool1_1'], ['pool1_2', '_pool1_mask'], { ratio: { f: 0.5 } });
  node('Reshape', ['pool1_2', init('OC2_DUMMY_1', tensor('int64', [2], [1, -1]))], ['OC2_DUMMY_0']);
  node('Gemm', ['OC2_DUMMY_0', init('fc_w_0', rand([5, 64])), init('fc_b_0', rand([5]))], ['fc_1'], { transB: { i: 1 } });
  node('Softmax', ['fc_1'], ['prob_1'], { axis: { i: 1 } });
  g.outputs.push({ name: 'prob_1', dtype: 'float32', shape: [1, 5] });
  const m = emptyModel(g, 9);
  m.irVersion = 4;
  return m;
}

/** The same net as Caffe would define it (in-place ReLU and Dropout). */
const ZOO_PROTOTXT = `name: "tiny"
input: "data"
input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "drop1" type: "Dropout" bottom: "pool1" top: "pool1" dropout_param { dropout_ratio: 0.5 } }
layer { name: "fc" type: "InnerProduct" bottom: "pool1" top: "fc" inner_product_param { num_output: 5 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
`;

/** A small stand-in for the fc6 generator: the same 4096-d code in, a 3 x 8 x 8 image out. */
const GEN_PROTOTXT = `input: "feat"
input_shape { dim: 1 dim: 4096 }
layer { name: "defc7" type: "InnerProduct" bottom: "feat" top: "defc7" inner_product_param { num_output: 48 } }
layer { name: "relu_defc7" type: "ReLU" bottom: "defc7" top: "defc7" relu_param { negative_slope: 0.3 } }
layer { name: "reshape" type: "Reshape" bottom: "defc7" top: "reshape_defc7" reshape_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }
layer { name: "deconv0" type: "Deconvolution" bottom: "reshape_defc7" top: "deconv0" convolution_param { num_output: 3 kernel_size: 4 stride: 2 pad: 1 } }
`;
const genBlobs = { defc7: [rand([48, 4096]), rand([48])], deconv0: [rand([3, 3, 4, 4]), rand([3])] };
const genCaffemodel = encodeCaffemodel({
  layers: [
    { name: 'defc7', type: 'InnerProduct', blobs: genBlobs.defc7 },
    { name: 'deconv0', type: 'Deconvolution', blobs: genBlobs.deconv0 },
  ],
});

const classifierBytes = Buffer.from(encodeModel(zooStyleClassifier()));
const deepsimZip = zip([
  { name: 'release_deepsim_v0/', data: new Uint8Array(0) },
  { name: 'release_deepsim_v0/fc7/generator.caffemodel', data: Buffer.from('not this one') },
  { name: 'release_deepsim_v0/fc6/generator.caffemodel', data: genCaffemodel, deflate: true },
]);
const files = { zooProto: join(root, 'tiny.prototxt'), genProto: join(root, 'gen.prototxt'), caffemodel: join(root, 'generator.caffemodel'), onnx: join(root, 'zoo.onnx') };
writeFileSync(files.zooProto, ZOO_PROTOTXT);
writeFileSync(files.genProto, GEN_PROTOTXT);
writeFileSync(files.caffemodel, genCaffemodel);
writeFileSync(files.onnx, classifierBytes);

// ------------------------------------------------------------------ the server

interface Route {
  body: Buffer;
  /** Destroy the socket after this many bytes of the body, on the first request only. */
  dropAt?: number;
  /** Answer every request with the whole file (200), as servers without Range support do. */
  ignoreRange?: boolean;
  /** Accept the request and never answer. */
  hang?: boolean;
  redirectTo?: string;
}
const routes = new Map<string, Route>();
const requests: { path: string; range?: string; ifRange?: string; status?: number }[] = [];
const served = new Map<string, number>();
const server = http.createServer((req, res) => {
  const path = req.url ?? '/';
  const log: (typeof requests)[number] = { path, range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined };
  requests.push(log);
  const route = routes.get(path);
  if (!route) {
    log.status = 404;
    res.writeHead(404).end();
    return;
  }
  if (route.hang) return;
  if (route.redirectTo) {
    log.status = 302;
    res.writeHead(302, { location: route.redirectTo }).end();
    return;
  }
  const n = (served.get(path) ?? 0) + 1;
  served.set(path, n);
  const etag = `"${sha(route.body).slice(0, 16)}"`;
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const honour = m && !route.ignoreRange && (!req.headers['if-range'] || req.headers['if-range'] === etag);
  const start = honour ? Number(m![1]) : 0;
  const len = route.body.length;
  if (honour && start >= len) {
    log.status = 416;
    res.writeHead(416, { 'content-range': `bytes */${len}` }).end();
    return;
  }
  log.status = honour ? 206 : 200;
  res.writeHead(log.status, {
    'content-length': String(len - start),
    etag,
    ...(honour ? { 'content-range': `bytes ${start}-${len - 1}/${len}` } : {}),
  });
  if (route.dropAt !== undefined && n === 1) {
    res.write(route.body.subarray(start, route.dropAt), () => setTimeout(() => req.socket.destroy(), 20));
    return;
  }
  res.end(route.body.subarray(start));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
// A port with nothing listening: a server opened and closed again.
const closedPort = await new Promise<number>((r) => {
  const s = http.createServer();
  s.listen(0, '127.0.0.1', () => {
    const p = (s.address() as AddressInfo).port;
    s.close(() => r(p));
  });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(root, { recursive: true, force: true });
  delete process.env['FVIZ_MODELS'];
});

/** Everything in the cache except installed model folders: temp folders, partial downloads. */
function leftovers(): string[] {
  if (!existsSync(cache)) return [];
  const out: string[] = [];
  for (const f of readdirSync(cache)) {
    if (f === '.partial') out.push(...readdirSync(join(cache, f)).map((p) => `.partial/${p}`));
    else if (f.startsWith('.')) out.push(f);
  }
  return out;
}

const fviz = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(process.execPath, ['bin/fviz.js', ...args], { env: { ...process.env, FVIZ_MODELS: cache }, timeout: 60_000 }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });

// ------------------------------------------------------------------ tests

describe('fviz models fetch', () => {
  it('installs a good file (through a redirect) with its card, labels, logits tensor and the Caffe names as aliases', async () => {
    routes.set('/zoo.onnx', { body: classifierBytes });
    routes.set('/moved/zoo.onnx', { redirectTo: '/zoo.onnx', body: Buffer.alloc(0) });
    const r = await fetchModel('googlenet', { ...quiet, url: `${base}/moved/zoo.onnx`, sha256: sha(classifierBytes), aliasPrototxt: files.zooProto });
    expect(r.modelPath).toBe(join(cache, 'googlenet', 'googlenet.onnx'));
    expect(readFileSync(r.modelPath)).toEqual(classifierBytes);
    expect(r.sha256).toBe(sha(classifierBytes));
    expect(r.verified).toBe('option');
    expect(leftovers()).toEqual([]);

    const card = JSON.parse(readFileSync(join(cache, 'googlenet', 'card.json'), 'utf8'));
    expect(card.fetch).toBeUndefined();
    expect(card.installed).toMatchObject({ source: `${base}/moved/zoo.onnx`, sha256: sha(classifierBytes), verified: 'option' });
    expect(card.preSoftmax).toBe('fc_1');
    // In-place writes: conv1 (blob) and relu1 (layer) mean the ReLU's output, version 2; pool1 its last version.
    expect(card.aliases).toEqual({ data: 'data_0', conv1: 'conv1_2', relu1: 'conv1_2', pool1: 'pool1_2', drop1: 'pool1_2', fc: 'fc_1', prob: 'prob_1' });

    // The registry opens it by name: BGR Caffe input, the 1000 ImageNet labels copied beside it.
    const c = resolveClassifier('googlenet');
    expect(c.modelPath).toBe(r.modelPath);
    expect(c.card.input).toMatchObject({ channels: 'BGR', range: [0, 255], mean: [104, 117, 123], size: [224, 224] });
    expect(c.labels).toHaveLength(1000);
    expect(c.labels![945]).toMatch(/bell pepper/);
    expect(existsSync(join(cache, 'googlenet', 'imagenet-synset-words.txt'))).toBe(true);

    // Installed: a second fetch does nothing.
    const before = requests.length;
    const again = await fetchModel('googlenet', { ...quiet, url: `${base}/zoo.onnx` });
    expect(again.alreadyInstalled).toBe(true);
    expect(requests.length).toBe(before);
  });

  it('refuses a file whose sha256 is not the one the card records, leaving nothing behind', async () => {
    routes.set('/zoo.onnx', { body: classifierBytes });
    await expect(fetchModel('googlenet', { ...quiet, url: `${base}/zoo.onnx` })).rejects.toThrow(
      new RegExp(`gave a file with sha256 ${sha(classifierBytes)}, not c99c507058eaf41de8723408fdda7db8325cb57f0a89f2ee07a716d6e963e14e as the card records: it was deleted and nothing was installed`),
    );
    expect(existsSync(join(cache, 'googlenet'))).toBe(false);
    expect(leftovers()).toEqual([]);
    // A wrong --sha256 is refused the same way, and an installed copy survives a refused reinstall.
    await fetchModel('googlenet', { ...quiet, url: `${base}/zoo.onnx`, sha256: sha(classifierBytes), aliasPrototxt: files.zooProto });
    await expect(fetchModel('googlenet', { ...quiet, url: `${base}/zoo.onnx`, sha256: 'ab'.repeat(32), force: true })).rejects.toThrow(/as given: it was deleted/);
    expect(readFileSync(join(cache, 'googlenet', 'googlenet.onnx'))).toEqual(classifierBytes);
    expect(leftovers()).toEqual([]);
  });

  it('resumes a dropped connection with a Range request and ends with the right hash', async () => {
    const half = Math.floor(classifierBytes.length / 2);
    routes.set('/drop.onnx', { body: classifierBytes, dropAt: half });
    const first = requests.length;
    const r = await fetchModel('googlenet', { ...quiet, url: `${base}/drop.onnx`, sha256: sha(classifierBytes), aliasPrototxt: files.zooProto });
    expect(r.sha256).toBe(sha(classifierBytes));
    const mine = requests.slice(first).filter((q) => q.path === '/drop.onnx');
    expect(mine.map((q) => [q.range, q.status])).toEqual([
      [undefined, 200],
      [`bytes=${half}-`, 206],
    ]);
    expect(mine[1]!.ifRange).toMatch(/^"/); // the resume is pinned to the same version of the file
    expect(leftovers()).toEqual([]);
  });

  it('keeps the partial file when retries run out, and the next run resumes it', async () => {
    const cut = 1000;
    routes.set('/drop2.onnx', { body: classifierBytes, dropAt: cut });
    served.delete('/drop2.onnx');
    const opts = { ...quiet, url: `${base}/drop2.onnx`, sha256: sha(classifierBytes), aliasPrototxt: files.zooProto };
    await expect(fetchModel('googlenet', { ...opts, retries: 0 })).rejects.toThrow(/failed after 1 attempts: .*run the command again to resume/);
    expect(statSync(join(cache, '.partial', 'googlenet-12.onnx.part')).size).toBe(cut);
    const first = requests.length;
    const r = await fetchModel('googlenet', opts);
    expect(r.sha256).toBe(sha(classifierBytes));
    expect(requests.slice(first).map((q) => [q.range, q.status])).toEqual([[`bytes=${cut}-`, 206]]);
    expect(leftovers()).toEqual([]);
  });

  it('starts over cleanly when the server ignores Range', async () => {
    const half = Math.floor(classifierBytes.length / 2);
    routes.set('/norange.onnx', { body: classifierBytes, dropAt: half, ignoreRange: true });
    const first = requests.length;
    const r = await fetchModel('googlenet', { ...quiet, url: `${base}/norange.onnx`, sha256: sha(classifierBytes), aliasPrototxt: files.zooProto });
    expect(r.sha256).toBe(sha(classifierBytes));
    expect(requests.slice(first).map((q) => [q.range, q.status])).toEqual([
      [undefined, 200],
      [`bytes=${half}-`, 200],
    ]);
  });

  it('says in one line which host it cannot reach and what to do by hand', async () => {
    await expect(fetchModel('googlenet', { ...quiet, url: `http://127.0.0.1:${closedPort}/googlenet-12.onnx` })).rejects.toThrow(
      `cannot reach 127.0.0.1:${closedPort} (ECONNREFUSED): download http://127.0.0.1:${closedPort}/googlenet-12.onnx by hand and run fviz models add FILE --as googlenet`,
    );
    routes.set('/hang.onnx', { body: classifierBytes, hang: true });
    await expect(fetchModel('googlenet', { ...quiet, url: `${base}/hang.onnx`, timeoutSeconds: 0.3 })).rejects.toThrow(/^cannot reach 127\.0\.0\.1:\d+ \(ETIMEDOUT\): download/);
    expect(leftovers()).toEqual([]);
  });

  it('refuses to work on a download another live fviz holds; takes over a lock left by a dead one', async () => {
    routes.set('/zoo.onnx', { body: classifierBytes });
    const lock = join(cache, '.partial', 'googlenet-12.onnx.part.lock');
    mkdirSync(join(cache, '.partial'), { recursive: true });
    writeFileSync(lock, String(process.ppid));
    const opts = { ...quiet, url: `${base}/zoo.onnx`, sha256: sha(classifierBytes), aliasPrototxt: files.zooProto };
    await expect(fetchModel('googlenet', opts)).rejects.toThrow(`another fviz (pid ${process.ppid}) is installing googlenet-12.onnx`);
    writeFileSync(lock, '999999999');
    expect((await fetchModel('googlenet', opts)).sha256).toBe(sha(classifierBytes));
    expect(leftovers()).toEqual([]);
  });

  it('dgn-fc6: extracts the caffemodel from the archive, converts it and installs it with bounds and DGN settings', async () => {
    routes.set('/release_deepsim_v0.zip', { body: deepsimZip });
    const opts = { ...quiet, url: `${base}/release_deepsim_v0.zip`, prototxt: files.genProto };
    // No hash recorded anywhere: refused, the hash named, the download kept.
    const hash = sha(deepsimZip);
    await expect(fetchModel('dgn-fc6', opts)).rejects.toThrow(
      `downloaded release_deepsim_v0.zip (${deepsimZip.length} bytes, sha256 ${hash}) but nothing records its sha256, so it was not installed: if you trust that hash, run fviz models fetch dgn-fc6 --sha256 ${hash}`,
    );
    expect(existsSync(join(cache, 'dgn-fc6'))).toBe(false);
    expect(leftovers().sort()).toEqual(['.partial/release_deepsim_v0.zip.part', '.partial/release_deepsim_v0.zip.part.json']);
    // Given the hash, it installs from the kept download without asking the server again.
    const first = requests.length;
    const r = await fetchModel('dgn-fc6', { ...opts, sha256: hash });
    expect(requests.length).toBe(first);
    expect(leftovers()).toEqual([]);
    expect(r.modelPath).toBe(join(cache, 'dgn-fc6', 'generator.onnx'));

    const m = readModel(r.modelPath);
    expect(m.graph.inputs.map((i) => [i.name, i.shape])).toEqual([['feat', [1, 4096]]]);
    expect(m.graph.outputs.map((o) => [o.name, o.shape])).toEqual([['deconv0', [1, 3, 8, 8]]]);
    expect(Array.from(m.graph.initializers.get('defc7/W')!.data as Float32Array)).toEqual(Array.from(genBlobs.defc7[0]!.data as Float32Array));

    const gen = resolveGenerator('dgn-fc6');
    expect(gen.card).toMatchObject({ codeSize: 4096, toClassifier: 'center-crop', dgn: { steps: 200, startStep: 2, endStep: 1e-10, l2: 0.99 } });
    expect(gen.card.output).toMatchObject({ channels: 'BGR', range: [0, 255], mean: [104, 117, 123] });
    const bounds = readFileSync('../shared/reference/dgn-fc6-act-range-3x.txt', 'utf8').trim().split(/\s+/).map(Number);
    expect(Array.from(gen.upper!)).toEqual(Array.from(Float32Array.from(bounds)));
    expect(gen.lower!.every((v) => v === 0)).toBe(true);
    const card = JSON.parse(readFileSync(join(cache, 'dgn-fc6', 'card.json'), 'utf8'));
    expect(card.installed).toMatchObject({ sourceSha256: hash, verified: 'option', convertedWith: 'gen.prototxt' });
  });
});

describe('deriveCaffe2Aliases', () => {
  const prepared = (drop: string[]) => {
    const m = zooStyleClassifier();
    const g = m.graph;
    // Remove nodes, wiring their consumers to their first input (as if the exporter had not written them).
    for (const op of drop) {
      const k = g.nodes.findIndex((n) => n.opType === op);
      const [n] = g.nodes.splice(k, 1);
      for (const other of g.nodes) other.inputs = other.inputs.map((i) => (i === n!.outputs[0] ? n!.inputs[0]! : i));
    }
    return prepareModel(m).graph;
  };

  it('steps back past a Dropout version but never past a ReLU: a missing post-ReLU tensor is not replaced by the pre-ReLU one', () => {
    const r = deriveCaffe2Aliases(ZOO_PROTOTXT, prepared(['Relu', 'Dropout']));
    expect(r.aliases).toEqual({ data: 'data_0', pool1: 'pool1_1', drop1: 'pool1_1', fc: 'fc_1', prob: 'prob_1' });
    expect(r.missing.sort()).toEqual(['conv1', 'relu1']);
  });

  it('keeps only tensors with the shape the Caffe net gives the blob', () => {
    const r = deriveCaffe2Aliases(ZOO_PROTOTXT.replace('num_output: 5', 'num_output: 6'), prepared([]));
    expect(r.aliases['fc']).toBeUndefined();
    expect(r.aliases['prob']).toBeUndefined();
    expect(r.aliases['conv1']).toBe('conv1_2');
    expect(r.missing.sort()).toEqual(['fc', 'prob']);
  });
});

describe('fviz models add and list', () => {
  it('adds a local caffemodel for dgn-fc6 and a local .onnx under a new name; lists them', async () => {
    const r = await addModel(files.caffemodel, { ...quiet, prototxt: files.genProto });
    expect(r.name).toBe('dgn-fc6');
    expect(r.verified).toBe('unverified');
    expect(openGenerator(r.modelPath).card.codeSize).toBe(4096);

    // googlenet's card records a hash: a different file is refused, nothing is left behind.
    await expect(addModel(files.onnx, { ...quiet, as: 'googlenet' })).rejects.toThrow(/as the card of 'googlenet' records: nothing was installed/);
    expect(existsSync(join(cache, 'googlenet'))).toBe(false);
    expect(leftovers()).toEqual([]);

    const mine = await addModel(files.onnx, { ...quiet, as: 'tiny-zoo' });
    expect(mine.modelPath).toBe(join(cache, 'tiny-zoo', 'tiny-zoo.onnx'));
    expect(resolveClassifier('tiny-zoo').modelPath).toBe(mine.modelPath);
    expect(openClassifier(mine.modelPath).card.name).toBe('tiny-zoo');

    const list = listModels();
    expect(list.map((m) => [m.name, m.kind, m.installed])).toEqual([
      ['dgn-fc6', 'generator', true],
      ['googlenet', 'classifier', false],
      ['tiny-zoo', 'model', true],
    ]);
    expect(list[0]).toMatchObject({ path: r.modelPath, bytes: statSync(r.modelPath).size, sha256: r.sha256 });
    expect(list[1]).toMatchObject({ path: join(cache, 'googlenet', 'googlenet.onnx'), expectedSha256: 'c99c507058eaf41de8723408fdda7db8325cb57f0a89f2ee07a716d6e963e14e' });
    expect(list[2]!.sha256).toBe(sha(classifierBytes));
  });
});

describe('the CLI', () => {
  it('fetch: exit code 2 and one line when the host is unreachable; fetch, add and list otherwise', async () => {
    const down = await fviz(['models', 'fetch', 'googlenet', '--url', `http://127.0.0.1:${closedPort}/g.onnx`]);
    expect(down.code).toBe(2);
    expect(down.stderr.trim().split('\n')).toEqual([
      `fviz: cannot reach 127.0.0.1:${closedPort} (ECONNREFUSED): download http://127.0.0.1:${closedPort}/g.onnx by hand and run fviz models add FILE --as googlenet`,
    ]);

    routes.set('/zoo.onnx', { body: classifierBytes });
    const bad = await fviz(['models', 'fetch', 'googlenet', '--url', `${base}/zoo.onnx`]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^fviz: .* gave a file with sha256 [0-9a-f]{64}, not c99c5070/);
    const ok = await fviz(['models', 'fetch', 'googlenet', '--url', `${base}/zoo.onnx`, '--sha256', sha(classifierBytes)]);
    expect(ok.stderr).not.toMatch(/fviz:/);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`installed googlenet: ${join(cache, 'googlenet', 'googlenet.onnx')}`);
    const list = await fviz(['models', 'list', '--json']);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.find((x) => x.name === 'googlenet')).toMatchObject({ installed: true, sha256: sha(classifierBytes), bytes: classifierBytes.length });
    expect(rows.find((x) => x.name === 'dgn-fc6')).toMatchObject({ installed: false, expectedSha256: null });
  });
});
