// How many lines of one kind get written: at most `lines` per `intervalMs` each kind,
// the rest counted and reported with the next line written (or by `flush` once the
// interval is over). What an attacker can make ingest log is then bounded however
// fast it sends; the metrics still count every request. Pure: the clock is passed in.

export interface LogLimit {
  lines: number;
  intervalMs: number;
}

interface Window {
  startedAt: number;
  written: number;
  suppressed: number;
}

export type Admission = { write: true; suppressed: number } | { write: false };

export class LogLimiter<K extends string = string> {
  private readonly windows = new Map<K, Window>();

  constructor(private readonly limit: LogLimit) {}

  /**
   * Whether to write a line of `kind` at `now`; when it may, `suppressed` is how many
   * lines of that kind were left out since the last one written (to put in the line).
   */
  admit(kind: K, now: number): Admission {
    let window = this.windows.get(kind);
    if (window === undefined || now - window.startedAt >= this.limit.intervalMs) {
      const suppressed = window?.suppressed ?? 0;
      window = { startedAt: now, written: 1, suppressed: 0 };
      this.windows.set(kind, window);
      return { write: true, suppressed };
    }
    if (window.written < this.limit.lines) {
      window.written += 1;
      const suppressed = window.suppressed;
      window.suppressed = 0;
      return { write: true, suppressed };
    }
    window.suppressed += 1;
    return { write: false };
  }

  /**
   * The kinds whose interval is over with lines left out and not yet reported, and how
   * many: for one summary line each, so that the count of a flood that stopped is not
   * lost. Those counts are then reported (a later line does not repeat them).
   */
  flush(now: number): Array<{ kind: K; suppressed: number }> {
    const due: Array<{ kind: K; suppressed: number }> = [];
    for (const [kind, window] of this.windows) {
      if (now - window.startedAt < this.limit.intervalMs) continue;
      if (window.suppressed > 0) due.push({ kind, suppressed: window.suppressed });
      this.windows.delete(kind);
    }
    return due;
  }
}
