// Runs, jobs and observations for tests that need one, with sensible defaults: a job
// of run 10 in o/r, workflow CI, queued on ubuntu-latest; override what a test is about.
import type { AggregateDelta, JobObservation } from '../../processor/core/types.js';
import type { JobState } from '../../schemas/model.js';

export function jobObservation(overrides: Partial<JobObservation> = {}): JobObservation {
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

/** A job as processors hold it, first seen at 0. */
export function jobState(overrides: Partial<JobState> = {}): JobState {
  const { kind: _kind, ...observed } = jobObservation();
  return {
    ...observed,
    firstSeenAt: 0,
    startedSeenAt: null,
    completedSeenAt: null,
    expiredAt: null,
    ...overrides,
  };
}

/** One observation of a job duration, as a first completion makes it. */
export function jobDuration(seconds: number): AggregateDelta {
  return {
    kind: 'histogram',
    name: 'github_actions_job_duration_seconds',
    labels: { repository: 'o/r', workflow: 'CI', conclusion: 'success' },
    observeSeconds: seconds,
  };
}
