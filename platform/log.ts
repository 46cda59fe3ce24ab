// One structured logger (pino) for every role: JSON lines, or readable lines on a
// terminal (platform/log-format.ts). Secrets never reach it: the paths below are
// redacted wherever a caller passes headers or config by mistake.
import { type Logger, pino } from 'pino';
import { type LogFormat, prettyDestination } from './log-format.js';

export type { Logger } from 'pino';
export type { LogFormat } from './log-format.js';

/** Logs to stdout, or to stderr for a command whose stdout is its answer. */
export function createLogger(
  role: string,
  level = 'info',
  format: LogFormat = 'json',
  to: 'stdout' | 'stderr' = 'stdout',
): Logger {
  const options = {
    name: `runstream-${role}`,
    level,
    base: { role },
    redact: {
      paths: [
        'secret',
        'secrets',
        'token',
        '*.secret',
        '*.secrets',
        '*.token',
        'headers["x-hub-signature-256"]',
        'headers["x-hub-signature"]',
        'headers.authorization',
        '*.headers.authorization',
        '*.headers["x-hub-signature-256"]',
      ],
      censor: '[redacted]',
    },
  };
  if (format === 'pretty') return pino(options, prettyDestination(process[to].isTTY === true, process[to]));
  return to === 'stdout' ? pino(options) : pino(options, pino.destination(2));
}
