// The write buffer of one transaction: every change it will commit, keyed by changelog
// key, and the gauge memberships and queued-jobs index entries those changes move. The
// delivery path, housekeeping, a recount and a restore's index all stage their changes
// here; nothing is written here: the caller commits them to Kafka, then to RocksDB.

import {
  aggregateChangelogKey,
  encodeAdmission,
  encodeAggregate,
  encodeJob,
  encodeMarker,
  encodeRerun,
  encodeRun,
} from '../schemas/changelog.js';
import type { MetricCatalogue } from '../schemas/metrics.js';
import type { AggregateValue, JobState, Labels, RerunState, RunState } from '../schemas/model.js';
import {
  type GaugeDelta,
  jobGaugeDeltas,
  oldestQueuedLabels,
  queuePosition,
  runGaugeDeltas,
} from './core/gauges.js';
import type { ExpiryReason } from './core/types.js';
import { retiredMarkerKey } from './markers.js';
import type { WriteOp } from './store.js';
import { type ChangelogRecord, queueIndexKey } from './store-layout.js';

/** ignored: a repository the catalogue does not admit (RUNSTREAM_REPOSITORIES_*), no state kept. */
export type DeliveryResult = 'applied' | 'duplicate' | 'stale' | 'invalid' | 'ignored';

export interface InvalidRecord {
  offset: string;
  deliveryId: string | null;
  reason: string;
}

/**
 * Everything one transaction will write, keyed by changelog key (null = tombstone); its
 * series are made through the configured catalogue.
 */
export class PendingChanges {
  readonly markers = new Map<string, number | null>();
  readonly runs = new Map<string, RunState | null>();
  readonly jobs = new Map<string, JobState | null>();
  readonly aggregates = new Map<string, AggregateValue | null>();
  readonly results: Record<DeliveryResult, number> = {
    applied: 0,
    duplicate: 0,
    stale: 0,
    invalid: 0,
    ignored: 0,
  };
  readonly invalid: InvalidRecord[] = [];
  readonly expired: Array<{ kind: 'run' | 'job'; reason: ExpiryReason }> = [];
  /** Gauge memberships the run and job changes move, folded into aggregates by foldGauges. */
  readonly gauges: GaugeDelta[] = [];
  /** Oldest-queued sets whose queued jobs changed (series key -> labels). */
  readonly touchedQueues = new Map<string, Labels>();
  /** The store's index of queued jobs (true: put, false: delete); not in any changelog. */
  readonly queue = new Map<string, boolean>();
  /** Admission records of label sets admitted under the caps (admission.ts): series key -> ordinal. */
  readonly admissions = new Map<string, number>();
  /** Re-run records of jobs' attempts (reruns.ts): series key -> state (null: tombstone). */
  readonly reruns = new Map<string, RerunState | null>();
  /** Observations applied whose label values went to `(other)` or were cut, per entity kind. */
  readonly capped: Array<{ kind: 'run' | 'job'; reason: 'overflow' | 'truncated' }> = [];

  constructor(readonly catalogue: MetricCatalogue) {}

  get size(): number {
    return (
      this.markers.size +
      this.runs.size +
      this.jobs.size +
      this.aggregates.size +
      this.admissions.size +
      this.reruns.size
    );
  }

  /**
   * Tombstones an entity whose retention is over. A completed one leaves a marker,
   * kept as long as the dedupe window, so that a late event about it (a backfill
   * replaying what live traffic missed) is stale instead of re-creating it and counting
   * it again. An expired one leaves none: its late completion still counts.
   */
  retire(kind: 'run' | 'job', key: string, state: RunState | JobState, now: number): void {
    if (kind === 'run') this.setRun(key, state as RunState, null);
    else this.setJob(key, state as JobState, null);
    if (state.completedSeenAt !== null) this.markers.set(retiredMarkerKey(kind, key), now);
  }

  /** A run's next state (null: tombstone), and the gauge memberships it moves. */
  setRun(key: string, previous: RunState | undefined, next: RunState | null): void {
    this.runs.set(key, next);
    this.gauges.push(...runGaugeDeltas(previous, next ?? undefined, this.catalogue));
  }

  /** A job's next state (null: tombstone), the gauge memberships it moves, and its queue place. */
  setJob(key: string, previous: JobState | undefined, next: JobState | null): void {
    this.jobs.set(key, next);
    this.gauges.push(...jobGaugeDeltas(previous, next ?? undefined, this.catalogue));
    const before = queuePosition(previous, this.catalogue);
    const after = queuePosition(next ?? undefined, this.catalogue);
    const beforeKey = before && queueIndexKey(before);
    const afterKey = after && queueIndexKey(after);
    if (beforeKey === afterKey) return;
    if (before && beforeKey) {
      this.queue.set(beforeKey, false);
      this.touchedQueues.set(before.set, oldestQueuedLabels(previous!));
    }
    if (after && afterKey && next) {
      this.queue.set(afterKey, true);
      this.touchedQueues.set(after.set, oldestQueuedLabels(next));
    }
  }

  /** RocksDB writes that mirror no changelog: the queued-jobs index. */
  storeOnlyOps(): WriteOp[] {
    return [...this.queue].map(([key, put]) => ({ key, value: put ? Buffer.alloc(0) : null }));
  }

  /** The changelog records, per kind, all for the input partition's number. */
  records(partition: number): ChangelogRecord[] {
    const out: ChangelogRecord[] = [];
    for (const [key, at] of this.markers)
      out.push({ kind: 'dedupe', key, value: at === null ? null : encodeMarker(at) });
    for (const [key, run] of this.runs) out.push({ kind: 'runs', key, value: run && encodeRun(run) });
    for (const [key, job] of this.jobs) out.push({ kind: 'jobs', key, value: job && encodeJob(job) });
    for (const [metricKey, value] of this.aggregates) {
      out.push({
        kind: 'aggregates',
        key: aggregateChangelogKey(partition, metricKey),
        value: value && encodeAggregate(value),
      });
    }
    for (const [admissionKey, ordinal] of this.admissions) {
      out.push({
        kind: 'aggregates',
        key: aggregateChangelogKey(partition, admissionKey),
        value: encodeAdmission(ordinal),
      });
    }
    for (const [key, state] of this.reruns) {
      out.push({
        kind: 'aggregates',
        key: aggregateChangelogKey(partition, key),
        value: state && encodeRerun(state),
      });
    }
    return out;
  }
}
