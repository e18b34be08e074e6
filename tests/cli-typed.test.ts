// The typed CLI: commands declared once with their types, one resolver for model arguments, an objective
// typo caught before the model is prepared, and the method table as visualize's --method choices.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { loadAtBatch } from '../src/onnx/prepare.ts';
import { checkObjectiveNames, FvizError, parseObjective, readModel, registerMethod, resolveClassifier, resolveModelFile } from '../src/index.ts';
import { visualizeCommand } from '../src/cli/commands/visualize.ts';
import type { Cli } from '../src/cli/commands/types.ts';

const run = promisify(execFile);
const tmp = mkdtempSync(join(tmpdir(), 'fviz-cli-typed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fviz = (args: string[]) =>
  run('node', ['bin/fviz.js', ...args], { cwd: process.cwd() }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** The CLI's global options, as cli/main.ts declares them. */
function cli(argv: string[]): Cli {
  return yargs(argv)
    .option('debug', { type: 'boolean' })
    .option('threads', { type: 'number' })
    .option('device', { choices: ['cpu', 'cuda'] as const, default: 'cpu' as const })
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
}

describe('model arguments', () => {
  it('take the same names everywhere: inspect resolves embedded as visualize does', async () => {
    const embedded = resolveClassifier('embedded').modelPath;
    expect(resolveModelFile('embedded')).toBe(embedded);
    expect(resolveModelFile(embedded)).toBe(embedded);
    expect(() => resolveModelFile('no-such-model')).toThrow(/unknown model 'no-such-model'/);
    const r = await fviz(['inspect', 'embedded', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).source).toBe(embedded);
  }, 60_000);
});

describe('objective names checked before the model is prepared', () => {
  const path = resolveClassifier('embedded').modelPath;
  const raw = readModel(path);

  it('accepts every tensor the prepared model offers, and fails a typo with the nearest names', () => {
    const prepared = loadAtBatch(path, 1);
    const names = [...prepared.graph.valueTypes.keys()].filter((n) => !prepared.graph.initializers.has(n));
    expect(names.length).toBeGreaterThan(10);
    for (const n of names) expect(() => checkObjectiveNames(raw, parseObjective(n))).not.toThrow();
    expect(() => checkObjectiveNames(raw, parseObjective('conv1:0 + class:cat'))).not.toThrow();
    expect(() => checkObjectiveNames(raw, parseObjective('conv1:0 + conv9:1'))).toThrow(FvizError);
    expect(() => checkObjectiveNames(raw, parseObjective('clas:cat'))).toThrow(/unknown tensor 'clas:cat'; nearest names: .*conv1/);
    expect(() => checkObjectiveNames(raw, parseObjective('top:1'), { top: 'conv1' })).not.toThrow();
  });

  it('the CLI fails a typo with exit code 2 and writes nothing', async () => {
    const out = join(tmp, 'typo');
    const r = await fviz(['visualize', '--objective', 'clas:cat', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^fviz: unknown tensor 'clas:cat'; nearest names: /);
    expect(existsSync(out)).toBe(false);
  }, 60_000);
});

describe('visualize --method', () => {
  registerMethod('cli-test-l2', { describe: 'naive with an L2 penalty', preset: { l2: 0.5 } });

  it('offers a method registered in the method table, and runs it', async () => {
    const out = join(tmp, 'registered');
    await visualizeCommand(cli(['visualize', '--model', 'embedded', '--objective', 'class:cat', '--method', 'cli-test-l2', '--steps', '2', '--out', out])).parseAsync();
    const record = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(record.method).toBe('cli-test-l2');
    expect(record.parameters.l2).toBe(0.5);
  }, 120_000);

  it('refuses a method the table does not have, naming the choices', async () => {
    await expect(async () => visualizeCommand(cli(['visualize', '--objective', 'class:cat', '--method', 'nope', '--out', join(tmp, 'nope')])).parseAsync()).rejects.toThrow(
      /Invalid values:[\s\S]*"nope"[\s\S]*"cli-test-l2"/,
    );
  });
});

describe('command handlers', () => {
  it('read their arguments without casts (the builders declare the types)', () => {
    const dir = join('src', 'cli', 'commands');
    const casts: string[] = [];
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts')))
      for (const [i, line] of readFileSync(join(dir, f), 'utf8').split('\n').entries())
        if (/\b(?:a|argv)(?:\.[\w]+|\[['"][\w-]+['"]\])\)?\s+as\s+(?!const\b)/.test(line)) casts.push(`${f}:${i + 1}: ${line.trim()}`);
    expect(casts).toEqual([]);
  });
});

describe('the package root', () => {
  it('exports every function a command loads for its work', async () => {
    const root: Record<string, unknown> = await import('../src/index.ts');
    const dir = join('src', 'cli', 'commands');
    const loaded = new Set<string>();
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts')))
      for (const statement of readFileSync(join(dir, f), 'utf8').split(';')) {
        const m = /const\s+([[{][\s\S]*?)=\s*await\s+(?:Promise\.all\(\[\s*)?import\('\.\.\/\.\.\//.exec(statement);
        if (!m) continue;
        for (const group of m[1]!.matchAll(/\{([^}]*)\}/g)) for (const name of group[1]!.split(',').map((s) => s.trim()).filter(Boolean)) loaded.add(name);
      }
    expect(loaded.size).toBeGreaterThan(20);
    expect([...loaded].filter((n) => root[n] === undefined)).toEqual([]);
  });
});
