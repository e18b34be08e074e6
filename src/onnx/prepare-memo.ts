// Prepared models remembered within one process: `fviz compare`, the atlas and the tests prepare the same model
// file again and again (shape inference, folding, specialization); the second time costs a clone. Keyed by the
// file (path, size, mtime, inode) and the preparation's options; bounded by $FVIZ_PREPARE_MEMO_MB (default 1024,
// 0 turns it off), least recently used first out. Callers get a clone whose tensors are shared: prepared models
// are read, never changed in place.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { cloneModel, type Model } from './ir.ts';

interface Remembered {
  model: Model;
  bytes: number;
}

const memo = new Map<string, Remembered>();
let held = 0;

function limit(): number {
  const mb = Number(process.env['FVIZ_PREPARE_MEMO_MB'] ?? '1024');
  return (Number.isFinite(mb) && mb >= 0 ? mb : 1024) * 1024 * 1024;
}

function weightBytes(m: Model): number {
  let n = 0;
  for (const t of m.graph.initializers.values()) n += (t.data as { byteLength?: number }).byteLength ?? 0;
  return n;
}

/** The model `prepare()` makes from `path` with `options`, made once per process while it fits the bound. */
export function preparedOnce(path: string, options: unknown, prepare: () => Model): Model {
  const cap = limit();
  let key: string;
  try {
    const abs = resolve(path);
    const st = statSync(abs);
    key = JSON.stringify([abs, st.size, st.mtimeMs, st.ino, options]);
  } catch {
    return prepare(); // fails with the reader's own message
  }
  const hit = memo.get(key);
  if (hit && cap > 0) {
    memo.delete(key);
    memo.set(key, hit); // most recently used last
    return cloneModel(hit.model);
  }
  const model = prepare();
  const bytes = weightBytes(model);
  if (bytes <= cap) {
    memo.set(key, { model: cloneModel(model), bytes });
    held += bytes;
    for (const [k, r] of memo) {
      if (held <= cap) break;
      memo.delete(k);
      held -= r.bytes;
    }
  }
  return model;
}

/** How many prepared models are remembered (tests). */
export function preparedMemoSize(): number {
  return memo.size;
}

/** Forgets every remembered model. */
export function clearPreparedMemo(): void {
  memo.clear();
  held = 0;
}
