// An operator error stops a command with one line on stderr, naming what to change,
// and no stack: the real CLI as a child process, and the failures it describes.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { describeFailure, oneLine, UsageError } from '../../../cli/errors.js';
import { ConfigError } from '../../../platform/config.js';
import { KafkaAccessError } from '../../../platform/kafka-errors.js';
import { root } from '../../support/deploy-contract.js';

const run = promisify(execFile);

/** The CLI's exit code and stderr for `args` (no broker is involved in these). */
async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(
      process.execPath,
      ['--import', 'tsx', join(root, 'cli', 'run.ts'), ...args],
      {
        cwd: root,
        env: { ...process.env, ...env },
        timeout: 60_000,
      },
    );
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

describe('operator errors', () => {
  it('a bad flag value: one line naming the flag, exit 2', async () => {
    const { code, stderr } = await cli(['demo', '--runs', '0']);
    expect(stderr).toBe('runstream: --runs: expected a positive integer, got 0\n');
    expect(code).toBe(2);
  });

  it('a bad setting: one line naming the variable, exit 2', async () => {
    const { code, stderr } = await cli(['topics', 'plan'], { RUNSTREAM_PARTITIONS: 'many' });
    expect(stderr).toBe(
      'runstream: configuration error: RUNSTREAM_PARTITIONS: expected an integer, got "many"\n',
    );
    expect(code).toBe(2);
  });

  it('describes any other failure in one line with its causes, and keeps kinds apart', () => {
    const nested = new Error('starting the exporter failed', {
      cause: new Error('read ECONNRESET\n  at socket', { cause: 'peer went away' }),
    });
    expect(oneLine(nested)).toBe('starting the exporter failed: read ECONNRESET at socket: peer went away');
    expect(describeFailure(nested, () => 'User:x')).toEqual({ text: oneLine(nested), exitCode: 1 });
    expect(describeFailure(new UsageError('--seed', 'bad'), () => '')).toEqual({
      text: '--seed: bad',
      exitCode: 2,
    });
    expect(describeFailure(new ConfigError('X', 'bad'), () => '').exitCode).toBe(2);
    expect(describeFailure(new KafkaAccessError('refused'), () => '')).toEqual({
      text: 'refused',
      exitCode: 1,
    });
  });
});
