// Runs, jobs and observations for tests that need one, with sensible defaults: a job
// of run 10 in o/r, workflow CI, queued on ubuntu-latest; override what a test is about.
import type { AggregateDelta, JobObservation, RunObservation } from '../../processor/core/types.js';
import type { JobState, RunState } from '../../schemas/model.js';

export function jobObservation(overrides: Partial<JobObservation> = {}): JobObservation {
  return {
    kind: 'job',
    jobId: 1,
    runId: 10,
    runAttempt: 1,
    name: 'build',
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

export function runObservation(overrides: Partial<RunObservation> = {}): RunObservation {
  return {
    kind: 'run',
    runId: 10,
    runAttempt: 1,
    repository: 'o/r',
    workflow: 'CI',
    event: 'push',
    status: 'in_progress',
    conclusion: null,
    createdAt: null,
    runStartedAt: null,
    updatedAt: null,
    ...overrides,
  };
}

/** A run as processors hold it, created, started and first seen at 0. */
export function runState(overrides: Partial<RunState> = {}): RunState {
  const { kind: _kind, ...observed } = runObservation({ createdAt: 0, runStartedAt: 0, updatedAt: 0 });
  return { ...observed, firstSeenAt: 0, completedSeenAt: null, expiredAt: null, ...overrides };
}

/** A job as processors hold it, first seen at 0. */
export function jobState(overrides: Partial<JobState> = {}): JobState {
  const { kind: _kind, name: _name, ...observed } = jobObservation();
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
