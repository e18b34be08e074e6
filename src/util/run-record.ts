// What identifies a run, for every command that writes a folder: the tool's version, sha256 of the
// models it read, and the record shape of run.json.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const VERSION = '0.1.0';

const hashCache = new Map<string, string>();

/** sha256 of a file, hex (cached per path for the process). */
export async function fileSha256(path: string): Promise<string> {
  const hit = hashCache.get(path);
  if (hit) return hit;
  const h = createHash('sha256');
  await new Promise<void>((res, rej) => {
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => res())
      .on('error', rej);
  });
  const hex = h.digest('hex');
  hashCache.set(path, hex);
  return hex;
}

export interface RunRecord {
  tool: 'fviz';
  version: string;
  command: string;
  method: string;
  objective: { text: string; terms: string[] };
  seed: number;
  parameters: Record<string, unknown>;
  models: { role: string; path: string; sha256: string }[];
  /** Objective per batch item at each step (before that step's update), then the final value. */
  history: number[][];
  final: number[];
  frames: number[];
  outputs: string[];
  timings: { totalMs: number; compileMs: number; msPerStep: number; /** From the start to the first evaluation's result (DGN-AM). */ firstStepMs?: number };
  warnings: string[];
  /** Method-specific facts (e.g. the final code's range, NaN steps skipped). */
  details?: Record<string, unknown>;
}

