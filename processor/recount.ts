// After a full restore (and once for a store never recounted), the gauges of a partition
// are counted again from the runs and jobs in its store, and the queued-jobs index
// (derived, in no changelog) is rebuilt. Memory does not grow with the store: the index
// is written as the jobs are scanned, a bounded batch at a time, and what is held is one
// value per gauge series (bounded by the label caps).
// Stored gauge aggregates that differ are corrected in the next transaction: the first
// time (a store written before gauges were kept) that counts them; afterwards a
// difference means local state and Kafka disagreed, which the caller reports.
import {
  decodeAggregate,
  decodeJob,
  decodeRun,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../schemas/changelog.js';
import { familyOf, type MetricCatalogue } from '../schemas/metrics.js';
import type { AggregateValue } from '../schemas/model.js';
import {
  applyGaugeDelta,
  type GaugeDelta,
  jobGaugeDeltas,
  queuePosition,
  runGaugeDeltas,
} from './core/gauges.js';
import { PendingChanges } from './pending-changes.js';
import type { KeyValueStore, WriteOp } from './store.js';
import { changelogKeyOf, QUEUE_INDEX_PREFIX, queueIndexKey, storePrefix } from './store-layout.js';

export interface Recount {
  /** Corrections to commit (gauge aggregates); the index is rebuilt in the store already. */
  pending: PendingChanges;
  corrected: number;
  /** Whether the store held gauge aggregates before (if not, this is their first count). */
  hadGauges: boolean;
}

/** Index entries written per store write while the jobs are scanned. */
export const INDEX_BATCH = 2000;

const EMPTY = Buffer.alloc(0);

/**
 * Counts the gauges from the store's runs and jobs and rebuilds its queued-jobs index in
 * place (removed, then written in batches of indexBatch while the jobs are scanned: a
 * recount cut short leaves the store unmarked, and the next one starts over).
 */
export async function recountGauges(
  store: KeyValueStore,
  now: number,
  catalogue: MetricCatalogue,
  indexBatch = INDEX_BATCH,
): Promise<Recount> {
  const pending = new PendingChanges(catalogue);
  await store.clearPrefix(QUEUE_INDEX_PREFIX);
  let index: WriteOp[] = [];

  // Per series: one of its deltas (each carries its labels) and how many there were; the
  // aggregates are made once per series, not once per entity.
  const counted = new Map<string, { delta: GaugeDelta; times: number }>();
  const oldest = new Map<string, number>();
  const count = (delta: GaugeDelta) => {
    const key = catalogue.seriesKey(delta.name, delta.labels);
    const seen = counted.get(key);
    if (seen === undefined) counted.set(key, { delta, times: 1 });
    else seen.times += 1;
  };
  for await (const values of store.values(storePrefix('runs'))) {
    for (const bytes of values) {
      for (const delta of runGaugeDeltas(undefined, decodeRun(bytes), catalogue)) count(delta);
    }
  }
  for await (const values of store.values(storePrefix('jobs'))) {
    for (const bytes of values) {
      const job = decodeJob(bytes);
      for (const delta of jobGaugeDeltas(undefined, job, catalogue)) count(delta);
      const position = queuePosition(job, catalogue);
      if (position) {
        index.push({ key: queueIndexKey(position), value: EMPTY });
        if (index.length >= indexBatch) {
          await store.write(index);
          index = [];
        }
        oldest.set(position.set, Math.min(oldest.get(position.set) ?? Infinity, position.createdSeconds));
      }
    }
  }
  await store.write(index);
  // From nothing, every delta enters its series (+1).
  const expected = new Map<string, AggregateValue>();
  for (const [key, { delta, times }] of counted) {
    expected.set(key, applyGaugeDelta(undefined, delta, now, catalogue, times));
  }
  for (const [key, value] of expected) {
    if (value.kind === 'gauge' && familyOf(value.name)?.merge === 'min') {
      expected.set(key, { ...value, value: oldest.get(key) ?? 0 });
    }
  }

  let hadGauges = false;
  for await (const [key, bytes] of store.scan(storePrefix('aggregates'))) {
    const { seriesKey: series } = parseAggregateChangelogKey(changelogKeyOf('aggregates', key));
    if (isReservedKey(series)) continue;
    const stored = decodeAggregate(bytes);
    // A latest time (core/received.ts) is kept from the deliveries, not counted from states.
    if (stored.kind !== 'gauge' || familyOf(stored.name)?.merge === 'max') continue;
    hadGauges = true;
    const want = expected.get(series);
    expected.delete(series);
    if (!want) {
      // Nothing active in it: an emptied series (kept at 0 for the retention window) is right.
      if (stored.members !== 0 || stored.value !== 0) {
        pending.aggregates.set(series, {
          ...stored,
          members: 0,
          value: 0,
          emptySince: stored.emptySince ?? now,
        });
      }
    } else if (want.kind === 'gauge' && (want.members !== stored.members || want.value !== stored.value)) {
      pending.aggregates.set(series, want);
    }
  }
  for (const [series, want] of expected) pending.aggregates.set(series, want);
  return { pending, corrected: pending.aggregates.size, hadGauges };
}
