// Expiry of stale entities (no terminal event within GitHub's limits) and retention
// of completed ones. Ages are measured from the event times when known, else from
// when the processor first saw the entity.
import type { ExpiryReason, JobState, LifecycleLimits, RunState } from './types.js';

export interface Expired<S> {
  state: S;
  reason: ExpiryReason;
}

/**
 * Self-hosted runners carry the `self-hosted` label; everything else (ubuntu-latest,
 * windows-*, macos-*, larger runners) runs on GitHub's hosted machines, whose jobs
 * GitHub stops after 6 hours.
 */
export function isSelfHosted(labels: string): boolean {
  return labels.split(',').includes('self-hosted');
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
    const limit = isSelfHosted(job.labels)
      ? limits.runningSelfHostedJobMaxAgeMs
      : limits.runningHostedJobMaxAgeMs;
    if (now - (job.startedAt ?? job.firstSeenAt) <= limit) return undefined;
    return { state: { ...job, expiredAt: now }, reason: 'running_timeout' };
  }
  if (now - (job.createdAt ?? job.firstSeenAt) <= limits.queuedJobMaxAgeMs) return undefined;
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
