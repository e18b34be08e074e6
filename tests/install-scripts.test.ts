// Install never reaches for the network: onnxruntime-node's postinstall downloads its CUDA provider from NuGet on
// linux/x64 unless told not to. The repository denies it through npm's allowScripts (package.json; no unknown
// .npmrc keys, which npm warns about on every command), and CI and users of npm versions without allowScripts
// set onnxruntime-node's own switch, ONNXRUNTIME_NODE_INSTALL=skip. A recording proxy shows what the script does.
import { describe, expect, it } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { proxyEnv, recordingProxy } from './helpers/recording-proxy.ts';

const repo = join(import.meta.dirname, '..');
const ortRoot = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
const installScript = join(ortRoot, 'script', 'install.js');
const npmHasAllowScripts = spawnSync('npm', ['install-scripts', '--help'], { encoding: 'utf8' }).status === 0;

/** The environment npm gives a dependency's postinstall during `npm ci` in the repository, with CI's settings. */
function postinstallEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|ONNXRUNTIME_NODE_INSTALL)/i.test(k)) env[k] = v;
  return { ...env, npm_lifecycle_event: 'postinstall', npm_config_local_prefix: repo, npm_package_json: join(ortRoot, 'package.json'), ...extra };
}

function runInstallScript(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [installScript], { cwd: ortRoot, env, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, output: stdout + stderr }),
    );
  });
}

describe('installing onnxruntime-node without a download', () => {
  const cudaFiles = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'].map((f) =>
    join(ortRoot, 'bin', 'napi-v6', 'linux', 'x64', f),
  );
  const wouldDownload = process.platform === 'linux' && process.arch === 'x64' && !cudaFiles.every((f) => existsSync(f));

  it.skipIf(!wouldDownload)('without a switch the install script asks NuGet (so the proxy sees it)', async () => {
    const proxy = await recordingProxy();
    try {
      await runInstallScript(postinstallEnv(proxyEnv(proxy.url)));
      expect(proxy.requests.join('\n')).toMatch(/nuget\.org/);
    } finally {
      await proxy.close();
    }
  });

  it('ONNXRUNTIME_NODE_INSTALL=skip (CI, and users of any npm) exits at once without a connection', async () => {
    const proxy = await recordingProxy();
    try {
      const r = await runInstallScript(postinstallEnv({ ...proxyEnv(proxy.url), ONNXRUNTIME_NODE_INSTALL: 'skip' }));
      expect(r.code, r.output).toBe(0);
      expect(proxy.connections()).toBe(0);
    } finally {
      await proxy.close();
    }
    expect(readFileSync(join(repo, '.ci', 'run'), 'utf8')).toMatch(/^export ONNXRUNTIME_NODE_INSTALL=skip$/m);
  });

  // No .npmrc key of onnxruntime-node's: npm warned on every command that it does not know it. npm's allowScripts
  // (dependency install scripts blocked unless approved; onnxruntime-node denied by name) and the environment switch
  // (CI; users of npm versions that still run dependency scripts) do the job.
  it('the repository denies the dependencies\' install scripts through allowScripts, and npm warns of no unknown config', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    const npmrc = existsSync(join(repo, '.npmrc')) ? readFileSync(join(repo, '.npmrc'), 'utf8') : '';
    expect(npmrc).not.toMatch(/onnxruntime-node-install/);
    const env = postinstallEnv({});
    const get = spawnSync('npm', ['pkg', 'get', 'name'], { cwd: repo, env, encoding: 'utf8' });
    expect(get.status, get.stderr).toBe(0);
    expect(get.stderr).not.toMatch(/Unknown (project|user|cli|env) config/);
    if (!npmHasAllowScripts) {
      console.warn(`npm ${spawnSync('npm', ['--version'], { encoding: 'utf8' }).stdout.trim()} has no install-scripts command: allowScripts unchecked`);
      return;
    }
    // npm's own reading of the policy: every installed dependency with an install script is reviewed.
    const ls = spawnSync('npm', ['install-scripts', 'ls', '--json'], { cwd: repo, env, encoding: 'utf8' });
    expect(ls.status, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).toEqual({ allowScripts: [] });
  });
});
