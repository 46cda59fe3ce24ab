// Housekeeping of one partition: stale entities expire (leaving the gauges), retained
// completed ones are tombstoned (leaving a retired marker), old dedupe markers go, and
// gauge series empty for longer than the retention are dropped. The sweep decides per
// entry, purely; the scan feeds it the store's entries up to a budget of changes.

import {
  decodeAggregate,
  decodeJob,
  decodeMarker,
  decodeRerun,
  decodeRun,
  isRerunKey,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../schemas/changelog.js';
import type { MetricCatalogue } from '../schemas/metrics.js';
import type { AggregateValue, JobState, RerunState, RunState } from '../schemas/model.js';
import { isGaugeRetentionOver } from './core/gauges.js';
import { expireJob, expireRun, isDedupeMarkerExpired, isRetentionOver } from './core/lifecycle.js';
import { isRerunRetentionOver } from './core/reruns.js';
import type { LifecycleLimits } from './core/types.js';
import { foldGauges } from './gauges.js';
import { PendingChanges } from './pending-changes.js';
import { StateReader } from './state-reader.js';
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
    pending.setRun(key, run, expired.state);
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
    pending.setJob(key, job, expired.state);
    pending.expired.push({ kind: 'job', reason: expired.reason });
  }
}

export function sweepAggregate(
  pending: PendingChanges,
  seriesKey: string,
  value: AggregateValue,
  now: number,
  limits: LifecycleLimits,
): void {
  if (isGaugeRetentionOver(value, now, limits.completedRetentionMs)) pending.aggregates.set(seriesKey, null);
}

/** A job's re-run record unchanged for longer than its run can be re-run (core/reruns.ts) goes. */
export function sweepRerun(
  pending: PendingChanges,
  seriesKey: string,
  state: RerunState,
  now: number,
  limits: LifecycleLimits,
): void {
  if (isRerunRetentionOver(state, now, limits)) pending.reruns.set(seriesKey, null);
}

/** The changes housekeeping makes now, about `budget` of them at most (the rest wait for the next pass). */
export async function scanForHousekeeping(
  store: KeyValueStore,
  partition: number,
  now: number,
  limits: LifecycleLimits,
  budget: number,
  catalogue: MetricCatalogue,
): Promise<PendingChanges> {
  const pending = new PendingChanges(catalogue);
  await sweepStore(store, pending, now, limits, budget);
  await foldGauges(new StateReader(store, partition, pending), now);
  return pending;
}

async function sweepStore(
  store: KeyValueStore,
  pending: PendingChanges,
  now: number,
  limits: LifecycleLimits,
  budget: number,
): Promise<void> {
  for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
    if (pending.size >= budget) return;
    const { seriesKey } = parseAggregateChangelogKey(changelogKeyOf('aggregates', key));
    if (isRerunKey(seriesKey)) {
      sweepRerun(pending, seriesKey, decodeRerun(bytes), now, limits);
      continue;
    }
    // Admission records are never dropped: the caps' decisions must not change (core/caps.ts);
    // nor the input position (schemas/changelog.ts). Neither is a series.
    if (isReservedKey(seriesKey)) continue;
    sweepAggregate(pending, seriesKey, decodeAggregate(bytes), now, limits);
  }
  for await (const [key, bytes] of store.scan(storePrefix('dedupe'))) {
    if (pending.size >= budget) return;
    sweepMarker(pending, changelogKeyOf('dedupe', key), decodeMarker(bytes), now, limits);
  }
  for await (const [key, bytes] of store.scan(storePrefix('runs'))) {
    if (pending.size >= budget) return;
    sweepRun(pending, changelogKeyOf('runs', key), decodeRun(bytes), now, limits);
  }
  for await (const [key, bytes] of store.scan(storePrefix('jobs'))) {
    if (pending.size >= budget) return;
    sweepJob(pending, changelogKeyOf('jobs', key), decodeJob(bytes), now, limits);
  }
}
