// A progress line for long work: done/total, rate, ETA and a short status. Redrawn in place on a terminal,
// printed every few seconds otherwise (logs, CI).
export class ProgressLine {
  private readonly start = performance.now();
  private lastPrint = 0;
  private lastDone = -1;
  private readonly tty = !!process.stderr.isTTY;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'steps',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, status = ''): void {
    const now = performance.now();
    if (done < this.total && now - this.lastPrint < (this.tty ? 200 : 5000)) return;
    if (done === this.lastDone && !status) return;
    this.lastPrint = now;
    this.lastDone = done;
    const secs = (now - this.start) / 1000;
    const rate = done / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const line = `${this.label} ${done}/${this.total} ${this.unit} | ${rate.toFixed(rate < 10 ? 2 : 0)} ${this.unit}/s | ETA ${formatSeconds(eta)}${status ? ` | ${status}` : ''}`;
    if (this.tty) this.stream.write(`\r\x1b[K${line}`);
    else this.stream.write(`${line}\n`);
  }

  done(status = ''): void {
    if (this.lastDone !== this.total || status) this.update(this.total, status);
    if (this.tty) this.stream.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A printer for epoch-based training progress: redrawn in place on a terminal, otherwise a timestamped
 * line every 30 s and at the end of each epoch.
 */
export function epochPrinter<P extends { stepInEpoch: number; stepsPerEpoch: number }>(format: (p: P) => string): (p: P) => void {
  const tty = !!process.stderr.isTTY;
  let last = 0;
  return (p) => {
    const now = performance.now();
    const epochEnd = p.stepInEpoch === p.stepsPerEpoch;
    if (!epochEnd && now - last < (tty ? 250 : 30_000)) return;
    last = now;
    const line = format(p);
    if (tty) process.stderr.write(`\r\x1b[K${line}${epochEnd ? '\n' : ''}`);
    else process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  };
}
