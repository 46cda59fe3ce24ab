// The core's central promise: any permutation of a run's deliveries, with any
// duplicates, yields the same final states and aggregates as the in-order stream.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GeneratedDelivery } from '../../../demo/stream.js';
import { generateStream } from '../../../demo/stream.js';
import { aggregateKey, applyDelta } from '../../../processor/core/aggregates.js';
import { parseDelivery } from '../../../processor/core/parse.js';
import { applyJob, applyRun, jobKey, runKey } from '../../../processor/core/state.js';
import type { AggregateValue, JobState, RunState } from '../../../processor/core/types.js';

interface Outcome {
  runs: Record<string, Record<string, unknown>>;
  jobs: Record<string, Record<string, unknown>>;
  aggregates: Record<string, AggregateValue>;
}

function strip(state: RunState | JobState): Record<string, unknown> {
  const { firstSeenAt: _f, completedSeenAt: _c, expiredAt: _e, ...rest } = state as JobState;
  delete (rest as Partial<JobState>).startedSeenAt;
  return rest;
}

/** Folds deliveries through the core with dedupe by delivery id. */
function fold(deliveries: readonly GeneratedDelivery[]): Outcome {
  const seen = new Set<string>();
  const runs = new Map<string, RunState>();
  const jobs = new Map<string, JobState>();
  const aggregates = new Map<string, AggregateValue>();
  let now = 1_000;
  for (const d of deliveries) {
    now += 1;
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    const parsed = parseDelivery({ deliveryId: d.id, event: d.event, payload: d.payload, receivedAt: now });
    if (!parsed.ok) throw new Error(parsed.reason);
    const o = parsed.observation;
    const t =
      o.kind === 'run'
        ? applyRun(runs.get(runKey(o.runId, o.runAttempt)), o, now)
        : applyJob(jobs.get(jobKey(o.jobId)), o, now);
    if (o.kind === 'run') runs.set(runKey(o.runId, o.runAttempt), t.state as RunState);
    else jobs.set(jobKey(o.jobId), t.state as JobState);
    for (const delta of t.deltas) {
      const key = aggregateKey(delta.name, delta.labels);
      aggregates.set(key, applyDelta(aggregates.get(key), delta));
    }
  }
  const sorted = <V, R>(m: Map<string, V>, f: (v: V) => R) =>
    Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, f(v)]));
  return { runs: sorted(runs, strip), jobs: sorted(jobs, strip), aggregates: sorted(aggregates, (v) => v) };
}

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
    const outcome = fold(stream);
    const completedJobs = Object.values(outcome.jobs).filter((j) => j.status === 'completed').length;
    const completedRuns = Object.values(outcome.runs).filter((r) => r.status === 'completed').length;
    const total = (name: string) =>
      Object.values(outcome.aggregates)
        .filter((a) => a.name === name)
        .reduce((n, a) => n + (a.kind === 'counter' ? a.value : 0), 0);
    expect(completedJobs).toBeGreaterThan(20);
    expect(total('github_actions_jobs_completed_total')).toBe(completedJobs);
    expect(total('github_actions_workflow_runs_completed_total')).toBe(completedRuns);
  });
});
