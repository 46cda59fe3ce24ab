// The flaky-jobs core (processor/core/reruns.ts): a (run, job name) counts once when an
// attempt succeeded after an earlier one failed, whatever the order and repetition of
// its attempts' completions.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyRerun,
  attemptOutcome,
  flakyDelta,
  isFirstCompletion,
  isRerunRetentionOver,
  mattersForReruns,
} from '../../../processor/core/reruns.js';
import { DEFAULT_LIFECYCLE_LIMITS } from '../../../processor/core/types.js';
import type { RerunState } from '../../../schemas/model.js';
import { jobObservation } from '../../support/entities.js';

type Attempt = { runAttempt: number; conclusion: string };

/** The counts a sequence of completions makes, fed one by one (what the shell does). */
function counts(attempts: readonly Attempt[]): { flaky: number; state: RerunState | undefined } {
  let state: RerunState | undefined;
  let flaky = 0;
  for (const [i, a] of attempts.entries()) {
    const next = applyRerun(state, { ...a, name: 'build' }, 1000 + i);
    if (!next) continue;
    state = next.state;
    if (next.flaky) flaky += 1;
  }
  return { flaky, state };
}

/** The definition, written out: some attempt succeeded after one that failed. */
const isFlaky = (attempts: readonly Attempt[]): boolean =>
  attempts.some(
    (f) =>
      (f.conclusion === 'failure' || f.conclusion === 'timed_out') &&
      attempts.some((s) => s.conclusion === 'success' && s.runAttempt > f.runAttempt),
  );

describe('flaky jobs, per run and job name', () => {
  it('counts a failure then a success once, and in the other order once too', () => {
    const failed = { runAttempt: 1, conclusion: 'failure' };
    const succeeded = { runAttempt: 2, conclusion: 'success' };
    expect(counts([failed, succeeded]).flaky).toBe(1);
    expect(counts([succeeded, failed]).flaky).toBe(1);
    expect(counts([succeeded, failed, succeeded, failed]).flaky).toBe(1);
    expect(counts([{ runAttempt: 1, conclusion: 'timed_out' }, succeeded]).flaky).toBe(1);
  });

  it('does not count a success before a failure, a success alone, or two jobs of one name in one attempt', () => {
    expect(
      counts([
        { runAttempt: 1, conclusion: 'success' },
        { runAttempt: 2, conclusion: 'failure' },
      ]).flaky,
    ).toBe(0);
    expect(counts([{ runAttempt: 3, conclusion: 'success' }]).flaky).toBe(0);
    expect(
      counts([
        { runAttempt: 2, conclusion: 'failure' },
        { runAttempt: 2, conclusion: 'success' },
      ]).flaky,
    ).toBe(0);
    expect(
      counts([
        { runAttempt: 1, conclusion: 'cancelled' },
        { runAttempt: 2, conclusion: 'success' },
      ]).flaky,
    ).toBe(0);
  });

  it('counts a job once, even when it fails and succeeds again after another re-run', () => {
    const history = [
      { runAttempt: 1, conclusion: 'failure' },
      { runAttempt: 2, conclusion: 'success' },
      { runAttempt: 3, conclusion: 'failure' },
      { runAttempt: 4, conclusion: 'success' },
    ];
    const { flaky, state } = counts(history);
    expect(flaky).toBe(1);
    expect(state).toMatchObject({ firstFailedAttempt: 1, lastSucceededAttempt: 4, countedAt: 1001 });
  });

  it('keeps only what can still count: failures, and successes after the first attempt', () => {
    const o = (runAttempt: number, conclusion: string | null, name = 'build') =>
      jobObservation({ runAttempt, conclusion, name, status: 'completed' });
    expect(mattersForReruns(o(1, 'failure'))).toBe(true);
    expect(mattersForReruns(o(1, 'timed_out'))).toBe(true);
    expect(mattersForReruns(o(1, 'success'))).toBe(false);
    expect(mattersForReruns(o(2, 'success'))).toBe(true);
    expect(mattersForReruns(o(2, 'cancelled'))).toBe(false);
    expect(mattersForReruns(o(2, 'skipped'))).toBe(false);
    expect(mattersForReruns(o(2, 'success', ''))).toBe(false);
    expect(attemptOutcome(null)).toBeUndefined();
    // A repeated failure of a later attempt changes nothing kept: no write.
    const first = applyRerun(undefined, o(1, 'failure'), 5)!.state;
    expect(applyRerun(first, o(2, 'failure'), 6)).toBeUndefined();
  });

  it('reads its labels from the event, and is fed by a job first completion only', () => {
    const o = jobObservation({
      repository: 'a/b',
      workflow: 'CI',
      name: 'test (ubuntu, 22)',
      branchKind: 'default',
    });
    expect(flakyDelta(o)).toEqual({
      kind: 'counter',
      name: 'github_actions_jobs_flaky_total',
      labels: { repository: 'a/b', workflow: 'CI', job_name: 'test (ubuntu, 22)', branch_kind: 'default' },
      increment: 1,
    });
    expect(isFirstCompletion(undefined, { completedSeenAt: 5 })).toBe(true);
    expect(isFirstCompletion({ completedSeenAt: null }, { completedSeenAt: 5 })).toBe(true);
    expect(isFirstCompletion({ completedSeenAt: 5 }, { completedSeenAt: 5 })).toBe(false);
    expect(isFirstCompletion({ completedSeenAt: null }, { completedSeenAt: null })).toBe(false);
  });

  it('goes once unchanged for longer than the run limit (a run is re-run within 30 days)', () => {
    const state: RerunState = {
      firstFailedAttempt: 1,
      lastSucceededAttempt: null,
      countedAt: null,
      updatedAt: 0,
    };
    const limit = DEFAULT_LIFECYCLE_LIMITS.runMaxAgeMs;
    expect(limit).toBeGreaterThan(30 * 86_400_000);
    expect(isRerunRetentionOver(state, limit, DEFAULT_LIFECYCLE_LIMITS)).toBe(false);
    expect(isRerunRetentionOver(state, limit + 1, DEFAULT_LIFECYCLE_LIMITS)).toBe(true);
  });

  it('any order of any attempts, with duplicates, counts once exactly when the definition says', () => {
    const attempt = fc.record({
      runAttempt: fc.integer({ min: 1, max: 5 }),
      conclusion: fc.constantFrom('success', 'failure', 'timed_out', 'cancelled', 'skipped'),
    });
    fc.assert(
      fc.property(
        fc
          .array(attempt, { minLength: 1, maxLength: 8 })
          .chain((attempts) =>
            fc.tuple(
              fc.constant(attempts),
              fc.shuffledSubarray([...attempts, ...attempts], { minLength: 2 * attempts.length }),
            ),
          ),
        ([attempts, disordered]) => {
          const want = isFlaky(attempts) ? 1 : 0;
          expect(counts(attempts).flaky).toBe(want);
          expect(counts(disordered).flaky).toBe(want);
          // The state is a join: the same whatever the order.
          const a = counts(attempts).state;
          const b = counts(disordered).state;
          expect(a && { ...a, countedAt: a.countedAt !== null, updatedAt: 0 }).toEqual(
            b && { ...b, countedAt: b.countedAt !== null, updatedAt: 0 },
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
