// The warn lines of refused requests and closed connections, at most a few a kind per
// interval (log-limiter.ts): an attacker decides how often ingest refuses, never how
// much it logs. A written line carries `suppressed`, the lines of its kind left out
// since the last one; a kind whose flood stopped gets one summary line. The metrics
// count every refusal regardless.
import type { Logger } from '../platform/log.js';
import { type LogLimit, LogLimiter } from './log-limiter.js';

/** Ten lines of a kind every ten seconds: enough to see what happens, never a flood. */
export const REFUSAL_LOG_LIMIT: LogLimit = { lines: 10, intervalMs: 10_000 };

export interface RefusalLog {
  /** Logs (or counts as left out) one refusal of `kind`. */
  refused(kind: string, fields: Record<string, unknown>, message: string): void;
  /** Stops the summary timer, writing what is left to summarise. */
  close(): void;
}

export function createRefusalLog(
  logger: Logger,
  limit: LogLimit = REFUSAL_LOG_LIMIT,
  now: () => number = Date.now,
): RefusalLog {
  const limiter = new LogLimiter(limit);
  const summarise = (at: number) => {
    for (const { kind, suppressed } of limiter.flush(at)) {
      logger.warn({ kind, suppressed }, `${suppressed} more refusals of this kind were not logged`);
    }
  };
  const timer = setInterval(() => summarise(now()), limit.intervalMs);
  timer.unref();
  return {
    refused(kind, fields, message) {
      const admission = limiter.admit(kind, now());
      if (!admission.write) return;
      logger.warn(
        { kind, ...fields, ...(admission.suppressed > 0 ? { suppressed: admission.suppressed } : {}) },
        message,
      );
    },
    close() {
      clearInterval(timer);
      summarise(Number.POSITIVE_INFINITY);
    },
  };
}
