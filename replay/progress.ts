// Progress for long replays: a bar with rate and ETA on a terminal, a plain line
// every few seconds otherwise (CI logs, files), and a summary at the end.
export interface ProgressCounts {
  sent: number;
  skipped: number;
  invalid: number;
}

export interface ProgressReporter {
  update(counts: ProgressCounts, done: number, total: number | undefined): void;
  finish(counts: ProgressCounts): void;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

export function progressLine(
  counts: ProgressCounts,
  done: number,
  total: number | undefined,
  elapsedSeconds: number,
  width: number | undefined,
): string {
  const rate = elapsedSeconds > 0 ? counts.sent / elapsedSeconds : 0;
  const stats = `${counts.sent} sent, ${counts.skipped} skipped, ${counts.invalid} invalid, ${rate.toFixed(0)}/s`;
  if (total === undefined || total <= 0) return stats;
  const fraction = Math.min(1, done / total);
  const eta = fraction > 0 ? (elapsedSeconds / fraction) * (1 - fraction) : Number.NaN;
  const pct = `${(fraction * 100).toFixed(1).padStart(5)}%`;
  if (width === undefined) return `${pct} ${stats}, ETA ${formatEta(eta)}`;
  const barWidth = Math.max(10, Math.min(40, width - stats.length - 20));
  const filled = Math.round(fraction * barWidth);
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${pct} ${stats} ETA ${formatEta(eta)}`;
}

export function createProgress(stream: NodeJS.WriteStream, intervalMs = 5000): ProgressReporter {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  let lastPrinted = 0;
  const tty = stream.isTTY === true;
  return {
    update(counts, done, total) {
      const now = performance.now();
      if (now - lastPrinted < (tty ? 200 : intervalMs)) return;
      lastPrinted = now;
      const line = progressLine(counts, done, total, elapsed(), tty ? stream.columns : undefined);
      stream.write(tty ? `\r${line}\u001b[K` : `progress: ${line}\n`);
    },
    finish(counts) {
      if (tty) stream.write('\r\u001b[K');
      stream.write(
        `replay finished in ${elapsed().toFixed(1)} s: ${counts.sent} sent, ${counts.skipped} skipped, ${counts.invalid} invalid\n`,
      );
    },
  };
}
