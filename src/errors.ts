// One error type for everything a user can get wrong. The CLI prints `message` as one line and exits 2;
// `--debug` adds the stack. The library throws, never exits.

export class FvizError extends Error {
  /** The file, tensor, op or flag the message is about. */
  readonly subject?: string;
  constructor(message: string, options?: { subject?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FvizError';
    this.subject = options?.subject;
  }
}

export function isFvizError(e: unknown): e is FvizError {
  return e instanceof FvizError;
}

/** Levenshtein distance, for suggesting the nearest names. */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n]!;
}

/** The `count` names closest to `name`: substring matches first, then by edit distance. */
export function nearestNames(name: string, candidates: Iterable<string>, count = 5): string[] {
  const lower = name.toLowerCase();
  const scored = [...new Set(candidates)].map((c) => {
    const cl = c.toLowerCase();
    const sub = cl.includes(lower) || lower.includes(cl) ? -1000 + Math.abs(cl.length - lower.length) : 0;
    return { c, score: sub + editDistance(lower, cl) };
  });
  scored.sort((x, y) => x.score - y.score || (x.c < y.c ? -1 : 1));
  return scored.slice(0, count).map((s) => s.c);
}
