// Housekeeping of one partition: stale entities expire, retained completed ones are
// tombstoned (leaving a retired marker), old dedupe markers go. The sweep decides per
// entry, purely; the scan feeds it the store's entries up to a budget of changes.

import { decodeJob, decodeMarker, decodeRun } from '../schemas/changelog.js';
import type { JobState, RunState } from '../schemas/model.js';
import { PendingChanges } from './batch.js';
import { expireJob, expireRun, isDedupeMarkerExpired, isRetentionOver } from './core/lifecycle.js';
import type { LifecycleLimits } from './core/types.js';
import type { KeyValueStore } from './store.js';
import { changelogKeyOf, storePrefix } from './store-layout.js';

export function sweepMarker(
  pending: PendingChanges,
  key: string,
  firstSeenAt: number,
  now: number,
  limits: LifecycleLimits,
): void {
  if (isDedupeMarkerExpired(firstSeenAt, now, limits)) pending.markers.set(key, null);
}

export function sweepRun(
  pending: PendingChanges,
  key: string,
  run: RunState,
  now: number,
  limits: LifecycleLimits,
): void {
  if (isRetentionOver(run, now, limits)) {
    pending.retire('run', key, run, now);
    return;
  }
  const expired = expireRun(run, now, limits);
  if (expired) {
    pending.runs.set(key, expired.state);
    pending.expired.push({ kind: 'run', reason: expired.reason });
  }
}

export function sweepJob(
  pending: PendingChanges,
  key: string,
  job: JobState,
  now: number,
  limits: LifecycleLimits,
): void {
  if (isRetentionOver(job, now, limits)) {
    pending.retire('job', key, job, now);
    return;
  }
  const expired = expireJob(job, now, limits);
  if (expired) {
    pending.jobs.set(key, expired.state);
    pending.expired.push({ kind: 'job', reason: expired.reason });
  }
}

/** The changes housekeeping makes now, at most `budget` of them (the rest wait for the next pass). */
export async function scanForHousekeeping(
  store: KeyValueStore,
  now: number,
  limits: LifecycleLimits,
  budget: number,
): Promise<PendingChanges> {
  const pending = new PendingChanges();
  for await (const [key, bytes] of store.scan(storePrefix('dedupe'))) {
    if (pending.size >= budget) return pending;
    sweepMarker(pending, changelogKeyOf('dedupe', key), decodeMarker(bytes), now, limits);
  }
  for await (const [key, bytes] of store.scan(storePrefix('runs'))) {
    if (pending.size >= budget) return pending;
    sweepRun(pending, changelogKeyOf('runs', key), decodeRun(bytes), now, limits);
  }
  for await (const [key, bytes] of store.scan(storePrefix('jobs'))) {
    if (pending.size >= budget) return pending;
    sweepJob(pending, changelogKeyOf('jobs', key), decodeJob(bytes), now, limits);
  }
  return pending;
}
