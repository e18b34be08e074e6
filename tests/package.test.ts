// The published package: `npm pack` (prepack builds dist/), the tarball installed into an empty folder with no
// network, and there the command, a plain-Node ESM consumer and a TypeScript consumer of the published types.
// The consumer's lockfile is the repository's own production tree with fviz in it, so `npm ci --offline`
// takes every dependency from npm's cache (filled by the repository's `npm ci`) and never asks the registry.
import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { proxyEnv, recordingProxy } from './helpers/recording-proxy.ts';

const repo = join(import.meta.dirname, '..');
const hasNpm = spawnSync('npm', ['--version'], { encoding: 'utf8' }).status === 0;

interface LockEntry {
  version?: string;
  dev?: boolean;
  [k: string]: unknown;
}

/** The environment of a user's shell: none of the npm_* variables of the `npm test` running this file. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'ONNXRUNTIME_NODE_INSTALL') env[k] = v;
  return { ...env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', ...extra };
}

interface Ran {
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking the event loop (the recording proxy answers meanwhile); throws on failure. */
function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeout = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')} failed (${String(err.code ?? err.signal)}):\n${stdout}\n${stderr}`)) : resolve({ stdout, stderr }),
    ),
  );
}

describe.skipIf(!hasNpm)('the npm package', () => {
  if (!hasNpm) console.warn('package.test.ts skipped: npm is not on PATH');
  const root = mkdtempSync(join(tmpdir(), 'fviz-package-'));
  const consumer = join(root, 'consumer');
  mkdirSync(consumer);

  it('packs, installs offline into an empty folder, and runs there as a command, an ESM import and TypeScript types', async () => {
    const proxy = await recordingProxy();
    const env = cleanEnv({ FVIZ_CACHE: join(root, 'cache'), FVIZ_TWIN_CACHE: join(root, 'twins'), ...proxyEnv(proxy.url) });
    await sh('npm', ['pack', '--pack-destination', root], repo, env, 120_000);
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; engines: unknown; bin: unknown };
    const tarball = `fviz-${pkg.version}.tgz`;
    expect(existsSync(join(root, tarball))).toBe(true);

    const spec = `file:../${tarball}`;
    const integrity = `sha512-${createHash('sha512').update(readFileSync(join(root, tarball))).digest('base64')}`;
    const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const packages: Record<string, LockEntry> = {
      '': { name: 'consumer', dependencies: { fviz: spec } },
      'node_modules/fviz': { version: pkg.version, resolved: spec, integrity, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
    };
    for (const [k, v] of Object.entries(lock.packages)) if (k !== '' && !v.dev) packages[k] = v;
    // The user's side of the README's install advice: deny onnxruntime-node's download script (npm's allowScripts;
    // npm 11.19 still runs it for a consumer without the entry: measured, it asked api.nuget.org), no .npmrc key.
    const consumerPkg = { name: 'consumer', private: true, type: 'module', dependencies: { fviz: spec }, allowScripts: { 'onnxruntime-node': false } };
    writeFileSync(join(consumer, 'package.json'), JSON.stringify(consumerPkg, null, 2));
    writeFileSync(join(consumer, 'package-lock.json'), JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2));
    const install = await sh('npm', ['ci', '--offline'], consumer, env, 120_000);
    expect(install.stdout + install.stderr).not.toMatch(/Unknown (project|user|cli) config/);
    expect(proxy.requests, 'nothing reached for the network during install').toEqual([]);
    const installed = join(consumer, 'node_modules', 'fviz');
    expect(existsSync(join(installed, 'src')), 'the package ships compiled code only').toBe(false);
    expect(existsSync(join(consumer, 'node_modules', 'tsx')), 'tsx is a development dependency').toBe(false);

    const help = await sh('npx', ['--offline', 'fviz', '--help'], consumer, env);
    expect(help.stdout).toMatch(/fviz <command>/);
    expect(help.stdout).toMatch(/visualize/);

    const vis = await sh('npx', ['--offline', 'fviz', 'visualize', '--objective', 'class:cat', '--method', 'dgn', '--steps', '5', '--out', 'x'], consumer, env, 120_000);
    expect(existsSync(join(consumer, 'x', 'run.json')), vis.stderr).toBe(true);
    expect(readdirSync(join(consumer, 'x')).some((f) => f.endsWith('.png'))).toBe(true);

    // A gradient from plain Node: d class 3 / d input against a central difference along a random direction.
    writeFileSync(
      join(consumer, 'grad.mjs'),
      `import { gradientAt, readModel, EMBEDDED_DIR, Rng, VERSION } from 'fviz';
import { join } from 'node:path';
const model = join(EMBEDDED_DIR, 'classifier.onnx');
const dims = readModel(model).graph.inputs[0].shape.map((d, i) => (i === 0 ? 1 : d));
const n = dims.reduce((a, b) => a * b, 1);
const rng = new Rng(7);
const x = new Float32Array(n), d = new Float32Array(n);
for (let i = 0; i < n; i++) { x[i] = rng.next(); d[i] = rng.next() - 0.5; }
const at = (v) => gradientAt(model, { dtype: 'float32', dims, data: v }, 'class:3');
const g = await at(x);
const eps = 1e-4;
const shifted = (s) => Float32Array.from(x, (v, i) => v + s * eps * d[i]);
const fd = ((await at(shifted(1))).value - (await at(shifted(-1))).value) / (2 * eps);
let dot = 0;
for (let i = 0; i < n; i++) dot += g.grad.data[i] * d[i];
console.log(JSON.stringify({ version: VERSION, value: g.value, dot, fd }));
`,
    );
    const grad = await sh('node', ['grad.mjs'], consumer, env);
    const r = JSON.parse(grad.stdout.trim().split('\n').pop()!) as { version: string; value: number; dot: number; fd: number };
    expect(r.version).toBe(pkg.version);
    expect(Number.isFinite(r.value)).toBe(true);
    expect(Math.abs(r.dot - r.fd)).toBeLessThan(0.05 * Math.abs(r.fd)); // ReLU kinks within eps keep a central difference ~2% off

    // A TypeScript consumer against the published .d.ts (tsc from the repository), and a deliberate misuse that must
    // fail. skipLibCheck as in the repository: tfjs-layers' own .d.ts do not pass a strict check.
    writeFileSync(
      join(consumer, 'use.ts'),
      `import { ObjectiveGradient, channel, classLogit, gradientAt, type GradResult, type ObjectiveResult } from 'fviz';
const o = channel('conv1', 3).plus(classLogit('cat').times(0.5));
export async function f(p: ObjectiveGradient): Promise<number> { const r: ObjectiveResult = await p.run({}); return r.value; }
export const g: (m: string) => Promise<GradResult> = (m) => gradientAt(m, { dtype: 'float32', dims: [1], data: new Float32Array(1) }, 'class:cat');
export { o };
`,
    );
    writeFileSync(join(consumer, 'bad.ts'), `import { gradientAt } from 'fviz';\nexport const v: string = gradientAt;\n`);
    const tsconfig = (files: string[]) =>
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(repo, 'node_modules', '@types')] },
        files,
      });
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    writeFileSync(join(consumer, 'tsconfig.json'), tsconfig(['use.ts']));
    const ok = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
    expect(ok.status, ok.stdout).toBe(0);
    writeFileSync(join(consumer, 'tsconfig.json'), tsconfig(['bad.ts']));
    const bad = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: consumer, encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts.*TS2322/);
    expect(proxy.requests, 'nothing reached for the network').toEqual([]);
    await proxy.close();
  }, 240_000);
});
