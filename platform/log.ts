// One structured logger (pino) for every role. Secrets never reach it: the paths
// below are redacted wherever a caller passes headers or config by mistake.
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export function createLogger(role: string, level = 'info'): Logger {
  return pino({
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
  });
}
