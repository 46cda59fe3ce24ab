// The core's rules one at a time: parsing real payloads, ordering, re-runs, expiry,
// retention, histogram buckets, and the incremental gauges against a from-scratch count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aggregateKey,
  applyDelta,
  bucketIndex,
  mergeAggregates,
} from '../../../processor/core/aggregates.js';
import { ACTIVE_JOB_STATUSES, GaugeIndex } from '../../../processor/core/gauges.js';
import {
  expireJob,
  expireRun,
  isDedupeMarkerExpired,
  isRetentionOver,
} from '../../../processor/core/lifecycle.js';
import { parseDelivery } from '../../../processor/core/parse.js';
import { applyJob, applyRun } from '../../../processor/core/state.js';
import {
  DEFAULT_LIFECYCLE_LIMITS,
  type JobObservation,
  type JobState,
  type RunObservation,
} from '../../../processor/core/types.js';
import { example, examples } from '../../support/webhooks.js';

const HOUR = 3_600_000;

function observation(event: 'workflow_run' | 'workflow_job', payload: unknown) {
  const parsed = parseDelivery({ deliveryId: 'd', event, payload, receivedAt: 0 });
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.observation;
}

function job(overrides: Partial<JobObservation> = {}): JobObservation {
  return {
    kind: 'job',
    jobId: 1,
    runId: 10,
    runAttempt: 1,
    repository: 'o/r',
    workflow: 'CI',
    labels: 'ubuntu-latest',
    runnerGroup: '',
    runnerName: null,
    status: 'queued',
    conclusion: null,
    createdAt: 1_000_000,
    startedAt: null,
    completedAt: null,
    ...overrides,
  };
}

const started = (o: Partial<JobObservation> = {}) =>
  job({ status: 'in_progress', startedAt: 1_030_000, runnerName: 'r1', runnerGroup: 'Default', ...o });
const completed = (o: Partial<JobObservation> = {}) =>
  started({ status: 'completed', conclusion: 'success', completedAt: 1_090_000, ...o });

describe('parseDelivery on real payloads', () => {
  it('reads every workflow_job and workflow_run example', () => {
    for (const payload of examples('workflow_job')) {
      const o = observation('workflow_job', payload);
      const raw = payload.workflow_job as { id: number; run_id: number; labels: string[] };
      expect(o).toMatchObject({ kind: 'job', jobId: raw.id, runId: raw.run_id });
      expect(o.kind === 'job' && o.labels).toBe([...raw.labels].sort().join(','));
      expect(o.repository).toBe((payload.repository as { full_name: string }).full_name);
    }
    for (const payload of examples('workflow_run')) {
      const o = observation('workflow_run', payload);
      expect(o).toMatchObject({ kind: 'run', runId: (payload.workflow_run as { id: number }).id });
    }
  });

  it('treats a missing run_attempt as 1 and a missing created_at as unknown', () => {
    const payload = example('workflow_job', 'queued');
    const inner = payload.workflow_job as Record<string, unknown>;
    delete inner.run_attempt;
    delete inner.created_at;
    const o = observation('workflow_job', payload);
    expect(o).toMatchObject({ runAttempt: 1, createdAt: null });
  });

  it('refuses payloads without identity, with a reason', () => {
    const payload = example('workflow_job', 'queued');
    delete (payload.workflow_job as Record<string, unknown>).run_id;
    expect(parseDelivery({ deliveryId: 'd', event: 'workflow_job', payload, receivedAt: 0 })).toEqual({
      ok: false,
      reason: 'workflow_job.run_id is missing or not a positive integer',
    });
    expect(
      parseDelivery({ deliveryId: 'd', event: 'workflow_run', payload: { repository: {} }, receivedAt: 0 })
        .ok,
    ).toBe(false);
    const bad = example('workflow_run', 'completed');
    (bad.workflow_run as Record<string, unknown>).status = 'exploded';
    expect(
      parseDelivery({ deliveryId: 'd', event: 'workflow_run', payload: bad, receivedAt: 0 }),
    ).toMatchObject({
      ok: false,
      reason: expect.stringContaining('exploded'),
    });
  });
});

describe('job state machine', () => {
  it('completed before in_progress: terminal, filled in, counted once', () => {
    const first = applyJob(undefined, completed(), 1);
    expect(first.state.status).toBe('completed');
    expect(first.deltas.map((d) => d.name).sort()).toEqual([
      'github_actions_job_duration_seconds',
      'github_actions_job_queue_duration_seconds',
      'github_actions_jobs_completed_total',
    ]);
    const late = applyJob(first.state, started({ runnerName: null }), 2);
    expect(late.state.status).toBe('completed');
    expect(late.deltas).toEqual([]);
    expect(late.changed).toBe(false);
  });

  it('queued then completed with no runner: counted, no queue or job duration', () => {
    const q = applyJob(undefined, job(), 1);
    const c = applyJob(
      q.state,
      job({ status: 'completed', conclusion: 'cancelled', completedAt: 1_050_000 }),
      2,
    );
    expect(c.deltas.map((d) => d.name)).toEqual(['github_actions_jobs_completed_total']);
    expect(c.deltas[0]).toMatchObject({ labels: { conclusion: 'cancelled' }, increment: 1 });
  });

  it('waiting twice and an in_progress action carrying status queued never regress', () => {
    let s = applyJob(undefined, job({ status: 'waiting' }), 1).state;
    s = applyJob(s, job({ status: 'waiting' }), 2).state;
    expect(s.status).toBe('waiting');
    s = applyJob(s, job({ status: 'queued' }), 3).state;
    expect(s.status).toBe('waiting');
    s = applyJob(s, started(), 4).state;
    expect(s).toMatchObject({
      status: 'in_progress',
      runnerName: 'r1',
      runnerGroup: 'Default',
      startedAt: 1_030_000,
    });
  });

  it('observes queue time once both times are known, whichever event brings them', () => {
    const noCreated = applyJob(undefined, started({ createdAt: null }), 1);
    expect(noCreated.deltas).toEqual([]);
    const late = applyJob(noCreated.state, job(), 2);
    expect(late.deltas).toEqual([
      {
        kind: 'histogram',
        name: 'github_actions_job_queue_duration_seconds',
        labels: { repository: 'o/r', runner_group: 'Default', labels: 'ubuntu-latest' },
        observeSeconds: 30,
      },
    ]);
    expect(applyJob(late.state, started(), 3).deltas).toEqual([]);
  });
});

describe('run state machine', () => {
  const run = (o: Partial<RunObservation> = {}): RunObservation => ({
    kind: 'run',
    runId: 10,
    runAttempt: 1,
    repository: 'o/r',
    workflow: 'CI',
    event: 'push',
    status: 'queued',
    conclusion: null,
    createdAt: 0,
    runStartedAt: 0,
    updatedAt: 0,
    ...o,
  });

  it('counts a completed attempt once, with its duration; a re-run is another entity', () => {
    const done = applyRun(
      undefined,
      run({ status: 'completed', conclusion: 'failure', updatedAt: 125_000 }),
      1,
    );
    expect(done.deltas).toEqual([
      {
        kind: 'counter',
        name: 'github_actions_workflow_runs_completed_total',
        labels: { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'failure' },
        increment: 1,
      },
      {
        kind: 'histogram',
        name: 'github_actions_workflow_run_duration_seconds',
        labels: { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'failure' },
        observeSeconds: 125,
      },
    ]);
    expect(
      applyRun(done.state, run({ status: 'completed', conclusion: 'failure', updatedAt: 125_000 }), 2).deltas,
    ).toEqual([]);
    expect(applyRun(done.state, run({ status: 'in_progress' }), 2).state.status).toBe('completed');
    // Attempt 2 starts from nothing (its own key): its completion counts again.
    expect(
      applyRun(undefined, run({ runAttempt: 2, status: 'completed', conclusion: 'success' }), 3).deltas,
    ).toHaveLength(2);
  });
});

describe('lifecycle', () => {
  const limits = DEFAULT_LIFECYCLE_LIMITS;
  const queuedJob = applyJob(undefined, job({ createdAt: 0 }), 0).state;

  it('expires a queued job after 24 h, a hosted running job after 6 h, a self-hosted one after 5 d', () => {
    expect(expireJob(queuedJob, 24 * HOUR, limits)).toBeUndefined();
    expect(expireJob(queuedJob, 24 * HOUR + 1, limits)).toMatchObject({ reason: 'queued_timeout' });
    const hosted = applyJob(undefined, started({ startedAt: 0 }), 0).state;
    expect(expireJob(hosted, 6 * HOUR + 1, limits)).toMatchObject({ reason: 'running_timeout' });
    const selfHosted = applyJob(undefined, started({ startedAt: 0, labels: 'linux,self-hosted' }), 0).state;
    expect(expireJob(selfHosted, 6 * HOUR + 1, limits)).toBeUndefined();
    expect(expireJob(selfHosted, 5 * 24 * HOUR + 1, limits)).toMatchObject({ reason: 'running_timeout' });
    const done = applyJob(undefined, completed(), 0).state;
    expect(expireJob(done, 100 * 24 * HOUR, limits)).toBeUndefined();
  });

  it('a late completion of an expired job still counts once', () => {
    const expired = expireJob(queuedJob, 25 * HOUR, limits)!.state;
    expect(expired.expiredAt).toBe(25 * HOUR);
    const done = applyJob(expired, completed(), 26 * HOUR);
    expect(done.deltas.filter((d) => d.kind === 'counter')).toHaveLength(1);
  });

  it('retention and dedupe windows', () => {
    const done = applyJob(undefined, completed(), 0).state;
    expect(isRetentionOver(done, 24 * HOUR, limits)).toBe(false);
    expect(isRetentionOver(done, 24 * HOUR + 1, limits)).toBe(true);
    expect(isRetentionOver(queuedJob, 1000 * HOUR, limits)).toBe(false);
    expect(isDedupeMarkerExpired(0, 4 * 24 * HOUR, limits)).toBe(false);
    expect(isDedupeMarkerExpired(0, 4 * 24 * HOUR + 1, limits)).toBe(true);
    expect(
      expireRun(
        applyRun(undefined, { ...observationRun(), runStartedAt: 0 }, 0).state,
        35 * 24 * HOUR + 1,
        limits,
      ),
    ).toMatchObject({
      reason: 'run_timeout',
    });
  });
});

function observationRun(): RunObservation {
  return observation('workflow_run', example('workflow_run', 'requested')) as RunObservation;
}

describe('aggregates', () => {
  it('buckets with le semantics: a value on a bound falls in that bucket', () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(1.001)).toBe(1);
    expect(bucketIndex(21_600)).toBe(12);
    expect(bucketIndex(21_601)).toBe(13);
  });

  it('sums the same series across partitions', () => {
    const labels = { repository: 'o/r', runner_group: '', labels: 'x' };
    const delta = {
      kind: 'histogram',
      name: 'github_actions_job_queue_duration_seconds',
      labels,
      observeSeconds: 7,
    } as const;
    const a = applyDelta(undefined, delta);
    const b = applyDelta(applyDelta(undefined, delta), { ...delta, observeSeconds: 9000 });
    const [merged] = mergeAggregates([a, b]);
    expect(merged).toMatchObject({ count: 3, sum: 9014 });
    expect(merged?.kind === 'histogram' && merged.bucketCounts[2]).toBe(2);
    expect(merged?.kind === 'histogram' && merged.bucketCounts[12]).toBe(1);
    expect(aggregateKey(delta.name, { labels: 'x', runner_group: '', repository: 'o/r' })).toBe(
      aggregateKey(delta.name, labels),
    );
  });
});

describe('GaugeIndex', () => {
  /** An independent count: active (not completed, not expired) jobs per label set and status. */
  function fromScratch(jobs: Iterable<JobState>): Map<string, number> {
    const out = new Map<string, number>();
    for (const j of jobs) {
      if (j.status === 'completed' || j.expiredAt !== null) continue;
      const key = JSON.stringify([j.repository, j.workflow, j.runnerGroup, j.labels, j.status]);
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    return out;
  }

  it('matches a from-scratch count after any sequence of upserts and removals', () => {
    const statusArb = fc.constantFrom('queued', 'waiting', 'in_progress', 'completed') as fc.Arbitrary<
      JobState['status']
    >;
    const jobArb = fc.record({
      jobId: fc.integer({ min: 1, max: 12 }),
      labels: fc.constantFrom('a', 'b'),
      runnerGroup: fc.constantFrom('', 'g'),
      status: statusArb,
      expired: fc.boolean(),
      remove: fc.boolean(),
      createdAt: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(fc.array(jobArb, { maxLength: 80 }), (ops) => {
        const index = new GaugeIndex(60_000, () => 0);
        const view = new Map<number, JobState>();
        for (const op of ops) {
          const previous = view.get(op.jobId);
          const next: JobState | undefined = op.remove
            ? undefined
            : {
                ...applyJob(
                  undefined,
                  job({
                    jobId: op.jobId,
                    status: op.status,
                    labels: op.labels,
                    runnerGroup: op.runnerGroup,
                    createdAt: op.createdAt * 1000,
                  }),
                  0,
                ).state,
                expiredAt: op.expired ? 1 : null,
              };
          index.upsertJob(previous, next);
          if (next) view.set(op.jobId, next);
          else view.delete(op.jobId);
        }
        const served = new Map<string, number>();
        for (const s of index.snapshot().jobs) {
          if (s.value === 0) continue;
          const l = s.labels;
          served.set(JSON.stringify([l.repository, l.workflow, l.runner_group, l.labels, l.status]), s.value);
        }
        expect(served).toEqual(fromScratch(view.values()));
        // Oldest queued: the minimum created_at of queued, unexpired jobs per label set.
        for (const s of index.snapshot().oldestQueued) {
          const queued = [...view.values()].filter(
            (j) =>
              j.status === 'queued' &&
              j.expiredAt === null &&
              j.runnerGroup === s.labels.runner_group &&
              j.labels === s.labels.labels,
          );
          const expected =
            queued.length === 0 ? 0 : Math.min(...queued.map((j) => Math.floor(j.createdAt! / 1000)));
          expect(s.value).toBe(expected);
        }
        expect(ACTIVE_JOB_STATUSES).not.toContain('completed');
      }),
      { numRuns: 300 },
    );
  });

  it('keeps an emptied label set at 0 for the retention window, then drops it', () => {
    let now = 0;
    const index = new GaugeIndex(1000, () => now);
    const queued = applyJob(undefined, job(), 0).state;
    index.upsertJob(undefined, queued);
    const done = applyJob(queued, completed(), 0).state;
    index.upsertJob(queued, done);
    expect(index.snapshot().jobs).toEqual([
      {
        labels: {
          repository: 'o/r',
          workflow: 'CI',
          runner_group: '',
          labels: 'ubuntu-latest',
          status: 'queued',
        },
        value: 0,
      },
    ]);
    now = 1001;
    expect(index.snapshot().jobs).toEqual([]);
  });
});
