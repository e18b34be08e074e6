// The CLI as a child process a test can watch: its output so far, a promise of a stdout line matching a
// pattern (rejected when the process ends without one), and its exit code once its output is closed.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Run {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  done: Promise<number>;
  /** Resolves when stdout has a line matching `re`. */
  line: (re: RegExp) => Promise<string>;
}

export function fviz(args: string[]): Run {
  const proc = spawn('node', ['bin/fviz.js', ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; ok: (l: string) => void }[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.split('\n').find((l) => w.re.test(l));
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.ok(m);
      }
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<number>((ok) => proc.on('close', (code, signal) => ok(code ?? (signal ? 128 : -1))));
  return {
    proc,
    out: () => out,
    err: () => err,
    done,
    line: (re) => {
      const m = out.split('\n').find((l) => re.test(l));
      if (m) return Promise.resolve(m);
      const seen = new Promise<string>((ok) => waiters.push({ re, ok }));
      const gone = done.then((code) => {
        throw new Error(`fviz ${args.join(' ')} exited (${code}) before printing ${re}: ${err.trim()}`);
      });
      return Promise.race([seen, gone]);
    },
  };
}
