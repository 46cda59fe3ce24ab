// The core's central promise: any permutation of a run's deliveries, with any
// duplicates, yields the same final states and aggregates as the in-order stream.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GeneratedDelivery } from '../../../demo/stream.js';
import { generateStream } from '../../../demo/stream.js';
import { comparable, expectedState } from '../../support/state.js';

/** The core applied in order with dedupe by delivery id, as comparable plain data. */
const fold = (deliveries: readonly GeneratedDelivery[]) => comparable(expectedState(deliveries));

describe('order independence of the core', () => {
  it('any permutation with duplicates equals the in-order stream', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (seed, shuffleKeys, duplicatePicks) => {
          // In-order, no duplicates, no disorder: the reference.
          const inOrder = generateStream({ seed, runs: 3, duplicateRate: 0, disorderRate: 0 });
          const reference = fold(inOrder);
          const permuted = inOrder
            .map((d, i) => ({ d, k: shuffleKeys[i % shuffleKeys.length]! * 7919 + i }))
            .sort((a, b) => (a.k % 97) - (b.k % 97) || a.k - b.k)
            .map((x) => x.d);
          for (const pick of duplicatePicks) {
            permuted.splice(pick % (permuted.length + 1), 0, inOrder[pick % inOrder.length]!);
          }
          expect(fold(permuted)).toEqual(reference);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts each completed job and each completed run attempt exactly once', () => {
    const stream = generateStream({ seed: 42, runs: 40, duplicateRate: 0.3, disorderRate: 1 });
    const outcome = expectedState(stream);
    const completedJobs = [...outcome.jobs.values()].filter((j) => j.status === 'completed').length;
    const completedRuns = [...outcome.runs.values()].filter((r) => r.status === 'completed').length;
    const total = (name: string) =>
      [...outcome.aggregates.values()]
        .filter((a) => a.name === name)
        .reduce((n, a) => n + (a.kind === 'counter' ? a.value : 0), 0);
    expect(completedJobs).toBeGreaterThan(20);
    expect(total('github_actions_jobs_completed_total')).toBe(completedJobs);
    expect(total('github_actions_workflow_runs_completed_total')).toBe(completedRuns);
  });
});
