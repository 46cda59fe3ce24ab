// Expiry rules (hosted vs self-hosted, waiting jobs, which time ages an entity),
// retention, and the histogram edges.
import { describe, expect, it } from 'vitest';
import { applyDelta, bucketIndex } from '../../../processor/core/aggregates.js';
import { expireJob, expireRun, isHosted, isRetentionOver } from '../../../processor/core/lifecycle.js';
import { applyJob, applyRun } from '../../../processor/core/state-machine.js';
import {
  DEFAULT_LIFECYCLE_LIMITS,
  type JobObservation,
  type RunObservation,
} from '../../../processor/core/types.js';
import {
  AGGREGATE_FAMILIES,
  type AggregateName,
  DEFAULT_CATALOGUE,
  DURATION_BUCKETS_SECONDS,
} from '../../../schemas/metrics.js';
import type { JobState } from '../../../schemas/model.js';
import { jobDuration, jobObservation, runObservation } from '../../support/entities.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const limits = DEFAULT_LIFECYCLE_LIMITS;

function job(o: Partial<JobObservation> = {}, now = 0): JobState {
  return applyJob(undefined, jobObservation({ createdAt: 0, ...o }), now).state;
}

const run = (o: Partial<RunObservation> = {}, now = 0) => applyRun(undefined, runObservation(o), now).state;

describe('hosted or self-hosted', () => {
  it.each([
    ['ubuntu-latest', '', true],
    ['ubuntu-24.04-arm', '', true],
    ['windows-2022', '', true],
    ['macos-14-xlarge', '', true],
    ['my-large-runner', 'GitHub Actions', true],
    ['linux,self-hosted,x64', '', false],
    ['self-hosted,ubuntu-latest', '', false],
    // ARC scale sets: one custom label, no `self-hosted`.
    ['arc-runner-set', 'Default', false],
    ['', '', false],
  ])('labels %j, runner group %j: hosted %s', (labels, runnerGroup, hosted) => {
    expect(isHosted({ labels, runnerGroup })).toBe(hosted);
  });
});

describe('expiry', () => {
  it('a running job: 6 h from started_at when hosted, 5 d when self-hosted (ARC included)', () => {
    const hosted = job({ status: 'in_progress', startedAt: HOUR, runnerName: 'r' });
    expect(expireJob(hosted, 7 * HOUR, limits)).toBeUndefined();
    expect(expireJob(hosted, 7 * HOUR + 1, limits)).toEqual({
      state: { ...hosted, expiredAt: 7 * HOUR + 1 },
      reason: 'running_timeout',
    });
    const arc = job({ status: 'in_progress', startedAt: 0, labels: 'arc-runner-set', runnerName: 'r' });
    expect(expireJob(arc, 2 * DAY, limits)).toBeUndefined();
    expect(expireJob(arc, 5 * DAY + 1, limits)?.reason).toBe('running_timeout');
  });

  it('a queued job after 24 h from created_at; a waiting job (approval) only after the run limit', () => {
    const queued = job({ createdAt: 0 });
    expect(expireJob(queued, DAY, limits)).toBeUndefined();
    expect(expireJob(queued, DAY + 1, limits)?.reason).toBe('queued_timeout');
    const waiting = job({ status: 'waiting', createdAt: 0 });
    expect(expireJob(waiting, 29 * DAY, limits)).toBeUndefined();
    expect(expireJob(waiting, 35 * DAY + 1, limits)?.reason).toBe('queued_timeout');
  });

  it('ages from first sight when GitHub gave no time', () => {
    const noTimes = job({ createdAt: null }, 10 * HOUR);
    expect(expireJob(noTimes, 34 * HOUR, limits)).toBeUndefined();
    expect(expireJob(noTimes, 34 * HOUR + 1, limits)?.reason).toBe('queued_timeout');
    const runningNoStart = job({ status: 'in_progress', runnerName: 'r', startedAt: null }, HOUR);
    expect(expireJob(runningNoStart, 7 * HOUR + 1, limits)?.reason).toBe('running_timeout');
    const r = run({}, DAY);
    expect(expireRun(r, 36 * DAY, limits)).toBeUndefined();
    expect(expireRun(r, 36 * DAY + 1, limits)?.reason).toBe('run_timeout');
  });

  it('a run ages from its attempt start (run_started_at resets on a re-run, created_at does not)', () => {
    const rerun = run({ runAttempt: 2, createdAt: 0, runStartedAt: 30 * DAY });
    expect(expireRun(rerun, 40 * DAY, limits)).toBeUndefined();
    expect(expireRun(rerun, 65 * DAY + 1, limits)?.reason).toBe('run_timeout');
  });

  it('never expires a completed or an already expired entity', () => {
    const done = job({ status: 'completed', conclusion: 'success', completedAt: 0 });
    expect(expireJob(done, 100 * DAY, limits)).toBeUndefined();
    const expired = expireJob(job(), 2 * DAY, limits)!.state;
    expect(expireJob(expired, 3 * DAY, limits)).toBeUndefined();
    const completedRun = run({ status: 'completed', conclusion: 'success' });
    expect(expireRun(completedRun, 100 * DAY, limits)).toBeUndefined();
  });

  it('an expired job that completes later is counted once, and retention runs from the completion', () => {
    const expired = expireJob(job(), 2 * DAY, limits)!.state;
    const completed = jobObservation({
      status: 'completed',
      conclusion: 'cancelled',
      createdAt: 0,
      startedAt: 0,
      completedAt: DAY,
    });
    const first = applyJob(expired, completed, 3 * DAY);
    expect(first.deltas.map((d) => d.name)).toEqual(['github_actions_jobs_completed_total']);
    expect(applyJob(first.state, completed, 3 * DAY + 1).deltas).toEqual([]);
    expect(isRetentionOver(first.state, 4 * DAY, limits)).toBe(false);
    expect(isRetentionOver(first.state, 4 * DAY + 1, limits)).toBe(true);
  });

  it('retention of an expired entity runs from the expiry', () => {
    const expired = expireJob(job(), 2 * DAY, limits)!.state;
    expect(isRetentionOver(expired, 3 * DAY, limits)).toBe(false);
    expect(isRetentionOver(expired, 3 * DAY + 1, limits)).toBe(true);
  });
});

describe('histogram buckets', () => {
  const observe = (seconds: number) => applyDelta(undefined, jobDuration(seconds), DEFAULT_CATALOGUE);

  it('a value exactly on a bound goes in that bucket (le), just above it in the next', () => {
    DURATION_BUCKETS_SECONDS.forEach((bound, i) => {
      expect(bucketIndex(DURATION_BUCKETS_SECONDS, bound)).toBe(i);
      expect(bucketIndex(DURATION_BUCKETS_SECONDS, bound + 0.001)).toBe(i + 1);
    });
    expect(bucketIndex(DURATION_BUCKETS_SECONDS, 0)).toBe(0);
    expect(bucketIndex(DURATION_BUCKETS_SECONDS, 1e9)).toBe(DURATION_BUCKETS_SECONDS.length);
  });

  it('keeps non-cumulative counts, one slot per bound plus +Inf, with sum and count', () => {
    const value = observe(21_601);
    expect(value).toMatchObject({ kind: 'histogram', sum: 21_601, count: 1 });
    const counts = value.kind === 'histogram' ? value.bucketCounts : [];
    expect(counts).toHaveLength(DURATION_BUCKETS_SECONDS.length + 1);
    expect(counts.at(-1)).toBe(1);
    expect(counts.slice(0, -1).every((c) => c === 0)).toBe(true);
  });

  it('clamps a negative duration (clock skew between timestamps) to 0', () => {
    const t = applyJob(
      undefined,
      jobObservation({
        labels: 'x',
        runnerGroup: 'g',
        runnerName: 'r',
        status: 'completed',
        conclusion: 'success',
        createdAt: 10_000,
        startedAt: 5_000,
        completedAt: 1_000,
      }),
      0,
    );
    expect(t.deltas.filter((d) => d.kind === 'histogram').map((d) => d.observeSeconds)).toEqual([0, 0]);
  });

  it('keys and labels follow each family’s label order, whatever the input order', () => {
    for (const family of AGGREGATE_FAMILIES) {
      const name = family.name as AggregateName;
      const labels = Object.fromEntries(DEFAULT_CATALOGUE.labelsOf(name).map((l) => [l, `v-${l}`]));
      const reversed = Object.fromEntries(Object.entries(labels).reverse());
      const key = DEFAULT_CATALOGUE.seriesKey(name, labels);
      expect(DEFAULT_CATALOGUE.seriesKey(name, reversed)).toBe(key);
    }
    const value = applyDelta(
      undefined,
      {
        kind: 'counter',
        name: 'github_actions_jobs_completed_total',
        labels: { conclusion: 'x', labels: 'l', runner_group: 'g', workflow: 'w', repository: 'r' },
        increment: 1,
      },
      DEFAULT_CATALOGUE,
    );
    expect(Object.keys(value.labels)).toEqual(
      DEFAULT_CATALOGUE.labelsOf('github_actions_jobs_completed_total'),
    );
  });
});
