// The layers of src/ stay layered: no folder imports the CLI, no cycle between the top-level folders,
// the ONNX layer knows nothing of the gradient compiler, data loading (dataset/) knows nothing of the
// analyses on top of it (analysis/), and the two trainers share train/ without importing each other. Every relative import of every src/**/*.ts
// (static, type-only, re-exports and dynamic import()) is read from the text.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** File-level edges, paths relative to src/. */
function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      edges.push({ from: relative(SRC, file), to: relative(SRC, resolve(dirname(file), spec)) });
    }
  }
  return edges;
}

/** The top-level folder of a path under src/; a file at the root is a node of its own. */
const unit = (path: string) => path.split('/')[0]!;

/** The strongly connected components with more than one node (Tarjan). */
function cycles(adj: Map<string, Set<string>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of adj.keys()) if (!index.has(v)) visit(v);
  return out;
}

function folderGraph(edges: Edge[]): Map<string, Set<string>> {
  const adj = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = unit(e.from);
    const b = unit(e.to);
    if (a === b) continue;
    if (!adj.has(a)) adj.set(a, new Set());
    adj.get(a)!.add(b);
  }
  return adj;
}

const edges = importEdges();
const show = (list: Edge[]) => list.map((e) => `${e.from} -> ${e.to}`);

describe('import graph of src/', () => {
  it('reads the imports (static, type-only, re-exports, dynamic)', () => {
    expect(edges.length).toBeGreaterThan(300);
    const has = (from: string, to: string) => edges.some((e) => e.from === from && e.to === to);
    expect(has('cli/main.ts', 'cli/commands/index.ts')).toBe(true);
    expect(has('index.ts', 'errors.ts')).toBe(true); // export * from
    expect(has('optvis/param/fourier-image.ts', 'onnx/prepare.ts')).toBe(true); // await import()
  });

  it('finds a cycle when there is one', () => {
    const adj = folderGraph([
      { from: 'a/x.ts', to: 'b/y.ts' },
      { from: 'b/y.ts', to: 'c/z.ts' },
      { from: 'c/z.ts', to: 'a/w.ts' },
      { from: 'c/z.ts', to: 'd/v.ts' },
    ]);
    expect(cycles(adj)).toEqual([['a', 'b', 'c']]);
  });

  it('no folder imports the CLI', () => {
    expect(show(edges.filter((e) => unit(e.to) === 'cli' && unit(e.from) !== 'cli'))).toEqual([]);
  });

  it('onnx/ does not import autodiff/', () => {
    expect(show(edges.filter((e) => unit(e.from) === 'onnx' && unit(e.to) === 'autodiff'))).toEqual([]);
  });

  it('dataset/ (loading) imports nothing of analysis/, and nothing above the base layer', () => {
    expect(show(edges.filter((e) => unit(e.from) === 'dataset' && unit(e.to) === 'analysis'))).toEqual([]);
    const base = new Set(['dataset', 'errors.ts', 'shared-path.ts', 'util', 'image']);
    expect(show(edges.filter((e) => unit(e.from) === 'dataset' && !base.has(unit(e.to))))).toEqual([]);
  });

  it('train/: the classifier and the generator do not import each other, the shared files neither', () => {
    const trainer = (path: string) => (/^train\/(classifier|generator)\//.exec(path) ?? [])[1] ?? (path.startsWith('train/') ? 'shared' : undefined);
    const crossing = edges.filter((e) => {
      const a = trainer(e.from);
      const b = trainer(e.to);
      return a !== undefined && b !== undefined && b !== 'shared' && a !== b;
    });
    expect(show(crossing)).toEqual([]);
  });

  it('no cycle between the top-level folders', () => {
    const found = cycles(folderGraph(edges));
    const witnesses = found.map((comp) => show(edges.filter((e) => unit(e.from) !== unit(e.to) && comp.includes(unit(e.from)) && comp.includes(unit(e.to)))));
    expect(witnesses).toEqual([]);
  });
});
