// Readable lines on a terminal, from the same pino entries the JSON format carries.
import { describe, expect, it } from 'vitest';
import { prettyLine } from '../../../platform/log-format.js';

describe('prettyLine', () => {
  const time = Date.UTC(2026, 10, 1, 8, 30, 15, 123);

  it('shows time, level, role and message, then the fields as key=value', () => {
    const line = JSON.stringify({
      level: 30,
      time,
      pid: 1,
      hostname: 'h',
      name: 'runstream-processor',
      role: 'processor',
      msg: 'partition restored',
      partition: 3,
      mode: 'full',
      from: { runs: '0' },
    });
    expect(prettyLine(line, false)).toBe(
      '08:30:15.123 INFO  processor partition restored partition=3 mode=full from={"runs":"0"}\n',
    );
  });

  it('gives an error its message inline and its stack below', () => {
    const line = JSON.stringify({
      level: 50,
      time,
      role: 'all',
      msg: 'failed',
      err: { type: 'Error', message: 'disk full', stack: 'Error: disk full\n    at x' },
    });
    expect(prettyLine(line, false)).toBe(
      '08:30:15.123 ERROR all failed err="disk full"\n    Error: disk full\n        at x\n',
    );
    expect(prettyLine(line, true)).toContain('\x1b[31mERROR\x1b[0m');
  });

  it('passes a line that is not JSON through', () => {
    expect(prettyLine('plain', false)).toBe('plain\n');
  });
});
