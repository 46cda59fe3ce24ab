// Flaky jobs, exactly: github_actions_jobs_flaky_total counts a job (a run and a job
// name) once when one of its attempts concluded `success` after an earlier attempt of
// it concluded `failure` or `timed_out`.
//
// What ties a job's attempts together. A re-run is a new run attempt, and every job in
// it a new job id; "re-run failed jobs" re-runs only those, so the others keep the
// attempt they ran in. So a job is its run id and its name (matrix jobs have one name per
// combination), and an attempt is the job's own `workflow_job.run_attempt`, never the
// run's latest. Deliveries are keyed by run id, so every attempt of a job lands in one
// partition, which keeps one RerunState per (run id, job name) that can still matter.
//
// The state is a join: the lowest failed attempt (min) and the highest succeeded one
// (max), fed only by a job's first completion (core/state-machine.ts: once per job id,
// so a duplicate, a redelivery or a resend of a retired job feeds nothing; feeding one
// twice would change nothing either). The job is flaky when lowest failed < highest succeeded:
// some failed attempt precedes some succeeded one. That is monotone in the join, so it
// turns true at exactly one event, whatever the order of the attempts' completions (an
// attempt 2 success before the attempt 1 failure included), and `countedAt` makes it
// count at that event and never again (a later failure and success of the same job,
// after one more re-run, count nothing).
//
// Only what can still count is kept: a failed attempt, or a success of attempt 2 or
// later (a first attempt's success follows nothing). Job states are retired 24 h after
// they complete; a RerunState stays until nothing about the job can come any more:
// GitHub re-runs a run up to 30 days after it started, and the processor starts no job
// from an event older than the dedupe window, so it goes once unchanged for longer than
// the run limit (35 d by default, RUNSTREAM_RUN_MAX_AGE), counted or not.
import { METRIC_FAMILIES } from '../../schemas/metrics.js';
import type { JobState, Labels, RerunState } from '../../schemas/model.js';
import type { AggregateDelta, JobObservation, LifecycleLimits } from './types.js';

export const FLAKY_JOBS = METRIC_FAMILIES.jobsFlaky.name;

/** Conclusions that make an attempt a failed one. */
const FAILED: ReadonlySet<string> = new Set(['failure', 'timed_out']);

/** What a job's completed event says about its attempts: failed, succeeded, or neither. */
export function attemptOutcome(conclusion: string | null): 'failed' | 'succeeded' | undefined {
  if (conclusion === 'success') return 'succeeded';
  return conclusion !== null && FAILED.has(conclusion) ? 'failed' : undefined;
}

/**
 * Whether a completed attempt can make its job flaky, now or with a later event: then it
 * is kept. A job without a name (GitHub always sends one) cannot be told from another.
 */
export function mattersForReruns(obs: Pick<JobObservation, 'conclusion' | 'runAttempt' | 'name'>): boolean {
  if (obs.name === '') return false;
  const outcome = attemptOutcome(obs.conclusion);
  return outcome === 'failed' || (outcome === 'succeeded' && obs.runAttempt > 1);
}

/** Whether a job's transition is its first completion (the only one that feeds a RerunState). */
export function isFirstCompletion(
  previous: Pick<JobState, 'completedSeenAt'> | undefined,
  next: Pick<JobState, 'completedSeenAt'>,
): boolean {
  return next.completedSeenAt !== null && (previous?.completedSeenAt ?? null) === null;
}

const minOf = (a: number | null, b: number): number => (a === null ? b : Math.min(a, b));
const maxOf = (a: number | null, b: number): number => (a === null ? b : Math.max(a, b));

/**
 * The job's RerunState after one more completed attempt, and whether this is the event
 * that makes it flaky (count it now). Undefined: the attempt changes nothing kept.
 */
export function applyRerun(
  existing: RerunState | undefined,
  obs: Pick<JobObservation, 'conclusion' | 'runAttempt' | 'name'>,
  now: number,
): { state: RerunState; flaky: boolean } | undefined {
  if (!mattersForReruns(obs)) return undefined;
  const failed = attemptOutcome(obs.conclusion) === 'failed';
  const base: RerunState = existing ?? {
    firstFailedAttempt: null,
    lastSucceededAttempt: null,
    countedAt: null,
    updatedAt: now,
  };
  const firstFailedAttempt = failed
    ? minOf(base.firstFailedAttempt, obs.runAttempt)
    : base.firstFailedAttempt;
  const lastSucceededAttempt = failed
    ? base.lastSucceededAttempt
    : maxOf(base.lastSucceededAttempt, obs.runAttempt);
  if (
    existing &&
    firstFailedAttempt === existing.firstFailedAttempt &&
    lastSucceededAttempt === existing.lastSucceededAttempt
  ) {
    return undefined;
  }
  const flaky =
    base.countedAt === null &&
    firstFailedAttempt !== null &&
    lastSucceededAttempt !== null &&
    firstFailedAttempt < lastSucceededAttempt;
  return {
    state: {
      firstFailedAttempt,
      lastSucceededAttempt,
      countedAt: flaky ? now : base.countedAt,
      updatedAt: now,
    },
    flaky,
  };
}

/**
 * The counter's delta for the job made flaky by this completed event. Its labels come
 * from the event, like every completion counter: repository, workflow and job name are
 * the same in every attempt of a job.
 */
export function flakyDelta(obs: JobObservation): AggregateDelta {
  return { kind: 'counter', name: FLAKY_JOBS, labels: flakyCappedValues(obs), increment: 1 };
}

/** The label values of a flaky job (raw): what its cap bounds, and the branch kind. */
export function flakyCappedValues(
  obs: Pick<JobObservation, 'repository' | 'workflow' | 'name'> & { branchKind?: string },
): Labels {
  return {
    repository: obs.repository,
    workflow: obs.workflow,
    job_name: obs.name,
    branch_kind: obs.branchKind ?? '',
  };
}

/** Unchanged for longer than a run can be re-run: the shell tombstones it. */
export function isRerunRetentionOver(
  state: RerunState,
  now: number,
  limits: Pick<LifecycleLimits, 'runMaxAgeMs'>,
): boolean {
  return now - state.updatedAt > limits.runMaxAgeMs;
}
