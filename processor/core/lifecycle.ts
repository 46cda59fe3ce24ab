// Expiry of stale entities (no terminal event within GitHub's limits) and retention
// of completed ones. Ages are measured from the event times when known, else from
// when the processor first saw the entity. An expired entity stays expired (out of
// the active gauges) until retention removes it; a later completed event still
// completes it and is counted once (the state machine does not look at expiredAt).
import type { JobState, RunState } from '../../schemas/model.js';
import type { ExpiryReason, LifecycleLimits } from './types.js';

export interface Expired<S> {
  state: S;
  reason: ExpiryReason;
}

/** GitHub-hosted image labels: ubuntu-latest, ubuntu-24.04-arm, windows-2022, macos-14-xlarge... */
const HOSTED_LABEL = /^(ubuntu|windows|macos)-/;
/** The runner group GitHub-hosted runners report. */
const HOSTED_RUNNER_GROUP = 'GitHub Actions';

/**
 * Whether a job runs on a GitHub-hosted runner (jobs stopped by GitHub after 6 h) rather
 * than a self-hosted one (5 d): no `self-hosted` label, and a GitHub image label or the
 * hosted runner group. Anything else counts as self-hosted (ARC scale sets carry only
 * their scale-set name), because mistaking a self-hosted job for a hosted one would
 * expire a job that is still running; the opposite only expires a dead one later.
 */
export function isHosted(job: Pick<JobState, 'labels' | 'runnerGroup'>): boolean {
  const labels = job.labels === '' ? [] : job.labels.split(',');
  if (labels.includes('self-hosted')) return false;
  return labels.some((l) => HOSTED_LABEL.test(l)) || job.runnerGroup === HOSTED_RUNNER_GROUP;
}

export function expireRun(
  run: RunState,
  now: number,
  limits: LifecycleLimits,
): Expired<RunState> | undefined {
  if (run.status === 'completed' || run.expiredAt !== null) return undefined;
  const since = run.runStartedAt ?? run.createdAt ?? run.firstSeenAt;
  if (now - since <= limits.runMaxAgeMs) return undefined;
  return { state: { ...run, expiredAt: now }, reason: 'run_timeout' };
}

export function expireJob(
  job: JobState,
  now: number,
  limits: LifecycleLimits,
): Expired<JobState> | undefined {
  if (job.status === 'completed' || job.expiredAt !== null) return undefined;
  if (job.status === 'in_progress') {
    const limit = isHosted(job) ? limits.runningHostedJobMaxAgeMs : limits.runningSelfHostedJobMaxAgeMs;
    if (now - (job.startedAt ?? job.firstSeenAt) <= limit) return undefined;
    return { state: { ...job, expiredAt: now }, reason: 'running_timeout' };
  }
  // A waiting job waits for a deployment approval, which GitHub allows for 30 days
  // (then fails the job), not for a runner: only its run's limit bounds it.
  const limit = job.status === 'waiting' ? limits.runMaxAgeMs : limits.queuedJobMaxAgeMs;
  if (now - (job.createdAt ?? job.firstSeenAt) <= limit) return undefined;
  return { state: { ...job, expiredAt: now }, reason: 'queued_timeout' };
}

/** Completed (or expired) longer ago than the retention: the shell tombstones it. */
export function isRetentionOver(
  entity: Pick<RunState, 'completedSeenAt' | 'expiredAt'>,
  now: number,
  limits: LifecycleLimits,
): boolean {
  const since = entity.completedSeenAt ?? entity.expiredAt;
  return since !== null && now - since > limits.completedRetentionMs;
}

export function isDedupeMarkerExpired(firstSeenAt: number, now: number, limits: LifecycleLimits): boolean {
  return now - firstSeenAt > limits.dedupeWindowMs;
}
