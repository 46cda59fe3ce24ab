// The tables and exit codes of `runstream runners`, from hand-made batch results: one
// row per item, errors on one line, and never a JIT config.
import { describe, expect, it } from 'vitest';
import { jitExitCode, jitSummary, jitTable, runnersTable } from '../../../cli/runners-report.js';
import { GitHubApiError, GitHubNetworkError } from '../../../github/errors.js';
import { assembleBatchResult, type ItemOutcome } from '../../../github/jit-batch.js';

const SECRET = 'c2VjcmV0LWppdC1jb25maWc=';
const names = ['ci-a1-0', 'ci-a1-1', 'ci-a1-2', 'ci-a1-3'];
const ok = (id: number, recovered = false): ItemOutcome => ({
  kind: 'ok',
  recovered,
  config: { runner: { id, name: `r${id}`, runnerScaleSetId: 7 }, encodedJITConfig: SECRET },
});
const failure = new GitHubApiError(400, 'POST', 'https://svc/x/generatejitconfig', 'invalid\nrunner name');

const mixed = assembleBatchResult(
  names,
  new Map<number, ItemOutcome>([
    [0, ok(11)],
    [1, { kind: 'failed', error: failure }],
    [2, ok(12, true)],
    [3, { kind: 'cancelled', reason: new Error('interrupted') }],
  ]),
);

describe('jitTable', () => {
  it('has one aligned row per item with the runner id or what went wrong, and no config', () => {
    const lines = jitTable(mixed).split('\n');
    expect(lines).toEqual([
      'name     runner id  result',
      'ci-a1-0  11         ok',
      'ci-a1-1  -          failed: HTTP 400: invalid runner name',
      'ci-a1-2  12         ok (recovered an existing runner)',
      'ci-a1-3  -          cancelled after it was sent: the runner may exist',
    ]);
    expect(jitTable(mixed)).not.toContain(SECRET);
  });

  it('adds the config file column with --out, including files that could not be written', () => {
    const files = new Map([
      [0, { path: 'out/ci-a1-0.jitconfig' }],
      [2, { error: new Error('EACCES: permission denied') }],
    ]);
    const lines = jitTable(mixed, files).split('\n');
    expect(lines).toEqual([
      'name     runner id  config file                             result',
      'ci-a1-0  11         out/ci-a1-0.jitconfig                   ok',
      'ci-a1-1  -          -                                       failed: HTTP 400: invalid runner name',
      'ci-a1-2  12         not written: EACCES: permission denied  ok (recovered an existing runner)',
      'ci-a1-3  -          -                                       cancelled after it was sent: the runner may exist',
    ]);
    expect(jitSummary(mixed, files)).toBe(
      '2 of 4 runner configs generated (1 failed, 1 cancelled, 1 not written)',
    );
  });

  it('says when no answer came, and shows other errors with their causes', () => {
    const result = assembleBatchResult(
      ['n-0', 'n-1'],
      new Map<number, ItemOutcome>([
        [0, { kind: 'failed', error: new GitHubNetworkError(0, 'POST', 'https://svc/x', 'ECONNREFUSED') }],
        [1, { kind: 'failed', error: new Error('outer', { cause: new Error('inner') }) }],
      ]),
    );
    const lines = jitTable(result).split('\n');
    expect(lines[1]).toMatch(/ failed: no answer: ECONNREFUSED$/);
    expect(lines[2]).toMatch(/ failed: outer: inner$/);
  });

  it('tells never-sent cancellations apart', () => {
    const result = assembleBatchResult(['x-0'], new Map(), new Error('interrupted'));
    expect(jitTable(result)).toContain('cancelled before it was sent');
  });
});

describe('jitExitCode', () => {
  const allOk = assembleBatchResult(
    names.slice(0, 2),
    new Map([
      [0, ok(1)],
      [1, ok(2)],
    ]),
  );

  it('is 0 only when every config was made and written', () => {
    expect(jitExitCode(allOk, undefined, false)).toBe(0);
    expect(jitSummary(allOk)).toBe('2 of 2 runner configs generated');
    const written = (second: { path: string } | { error: unknown }) =>
      new Map([
        [0, { path: 'a' }],
        [1, second],
      ]);
    expect(jitExitCode(allOk, written({ path: 'b' }), false)).toBe(0);
    expect(jitExitCode(allOk, written({ error: new Error('x') }), false)).toBe(1);
    expect(jitExitCode(mixed, undefined, false)).toBe(1);
  });

  it('is 130 after Ctrl-C', () => {
    expect(jitExitCode(mixed, undefined, true)).toBe(130);
  });
});

describe('runnersTable', () => {
  it('lists runners by name', () => {
    const table = runnersTable([
      { id: 9, name: 'web-2', runnerScaleSetId: 7 },
      { id: 10, name: 'web-10', runnerScaleSetId: 7 },
    ]);
    expect(table.split('\n')).toEqual(['runner id  name', '10         web-10', '9          web-2']);
  });

  it('is the header alone for no runners', () => {
    expect(runnersTable([])).toBe('runner id  name');
  });
});
