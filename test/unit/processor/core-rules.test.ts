import { describe, expect, it } from 'vitest';
import { bucketIndex } from '../../../processor/core/aggregates.js';
import {
  expireJob,
  expireRun,
  isDedupeMarkerExpired,
  isRetentionOver,
} from '../../../processor/core/lifecycle.js';
import { applyJob, applyRun } from '../../../processor/core/state-machine.js';
import {
  DEFAULT_LIFECYCLE_LIMITS,
  type JobObservation,
  type RunObservation,
} from '../../../processor/core/types.js';
import { DURATION_BUCKETS_SECONDS } from '../../../schemas/metrics.js';
import { parseDelivery } from '../../../schemas/observation.js';
import { jobObservation, runObservation } from '../../support/entities.js';
import { example, examples } from '../../support/webhooks.js';

const HOUR = 3_600_000;

function observation(event: 'workflow_run' | 'workflow_job', payload: unknown) {
  const parsed = parseDelivery(event, payload);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.observation;
}

const job = jobObservation;

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
    expect(parseDelivery('workflow_job', payload)).toEqual({
      ok: false,
      reason: 'workflow_job.run_id is missing or not a positive integer',
    });
    expect(parseDelivery('workflow_run', { repository: {} }).ok).toBe(false);
    const bad = example('workflow_run', 'completed');
    (bad.workflow_run as Record<string, unknown>).status = 'exploded';
    expect(parseDelivery('workflow_run', bad)).toMatchObject({
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
        labels: { repository: 'o/r', runner_group: 'Default', labels: 'ubuntu-latest', branch_kind: '' },
        observeSeconds: 30,
      },
    ]);
    expect(applyJob(late.state, started(), 3).deltas).toEqual([]);
  });
});

describe('run state machine', () => {
  const run = (o: Partial<RunObservation> = {}): RunObservation =>
    runObservation({ status: 'queued', createdAt: 0, runStartedAt: 0, updatedAt: 0, ...o });

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
        labels: { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'failure', branch_kind: '' },
        increment: 1,
      },
      {
        kind: 'histogram',
        name: 'github_actions_workflow_run_duration_seconds',
        labels: { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'failure', branch_kind: '' },
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
    expect(bucketIndex(DURATION_BUCKETS_SECONDS, 0)).toBe(0);
    expect(bucketIndex(DURATION_BUCKETS_SECONDS, 1)).toBe(0);
    expect(bucketIndex(DURATION_BUCKETS_SECONDS, 1.001)).toBe(1);
    expect(bucketIndex(DURATION_BUCKETS_SECONDS, 21_600)).toBe(12);
    expect(bucketIndex(DURATION_BUCKETS_SECONDS, 21_601)).toBe(13);
  });
});
