// Reads one partition's state as one transaction sees it: its pending changes first,
// then the store.
import {
  aggregateChangelogKey,
  decodeAdmission,
  decodeAggregate,
  decodeJob,
  decodeRerun,
  decodeRun,
} from '../schemas/changelog.js';
import type { AggregateValue, JobState, RerunState, RunState } from '../schemas/model.js';
import type { PendingChanges } from './pending-changes.js';
import type { KeyValueStore } from './store.js';
import { createdSecondsOfQueueKey, queueIndexPrefix, storeKey } from './store-layout.js';

/**
 * The state of one partition as one transaction reads it: pending changes over the
 * store. Store reads are fetched in bulk (one RocksDB multi-get per phase, not one get
 * per key) and memoised; the store does not change until the transaction commits.
 */
export class StateReader {
  private readonly reads = new Map<string, Buffer | undefined>();

  constructor(
    private readonly store: KeyValueStore,
    private readonly partition: number,
    readonly pending: PendingChanges,
  ) {}

  async prefetch(storeKeys: Iterable<string>): Promise<void> {
    const missing = [...new Set(storeKeys)].filter((key) => !this.reads.has(key));
    const values = await this.store.getMany(missing);
    for (const [i, key] of missing.entries()) this.reads.set(key, values[i]);
  }

  private async read(storeKey: string): Promise<Buffer | undefined> {
    if (!this.reads.has(storeKey)) await this.prefetch([storeKey]);
    return this.reads.get(storeKey);
  }

  /** Whether a dedupe marker (deliveryMarkerKey or retiredMarkerKey) is live. */
  async hasMarker(markerKey: string): Promise<boolean> {
    const staged = this.pending.markers.get(markerKey);
    if (staged !== undefined) return staged !== null;
    return (await this.read(storeKey('dedupe', markerKey))) !== undefined;
  }

  async run(key: string): Promise<RunState | undefined> {
    const staged = this.pending.runs.get(key);
    if (staged !== undefined) return staged ?? undefined;
    const bytes = await this.read(storeKey('runs', key));
    return bytes && decodeRun(bytes);
  }

  async job(key: string): Promise<JobState | undefined> {
    const staged = this.pending.jobs.get(key);
    if (staged !== undefined) return staged ?? undefined;
    const bytes = await this.read(storeKey('jobs', key));
    return bytes && decodeJob(bytes);
  }

  aggregateStoreKey(metricKey: string): string {
    return storeKey('aggregates', aggregateChangelogKey(this.partition, metricKey));
  }

  async aggregate(metricKey: string): Promise<AggregateValue | undefined> {
    const staged = this.pending.aggregates.get(metricKey);
    if (staged !== undefined) return staged ?? undefined;
    const bytes = await this.read(this.aggregateStoreKey(metricKey));
    return bytes && decodeAggregate(bytes);
  }

  /** An admission record (admission.ts): staged, else stored. */
  async admission(admissionKey: string): Promise<number | undefined> {
    const staged = this.pending.admissions.get(admissionKey);
    if (staged !== undefined) return staged;
    const bytes = await this.read(this.aggregateStoreKey(admissionKey));
    return bytes && decodeAdmission(bytes);
  }

  /** A re-run record (reruns.ts): staged, else stored. */
  async rerun(key: string): Promise<RerunState | undefined> {
    const staged = this.pending.reruns.get(key);
    if (staged !== undefined) return staged ?? undefined;
    const bytes = await this.read(this.aggregateStoreKey(key));
    return bytes && decodeRerun(bytes);
  }

  /** The created_at (Unix seconds) of the oldest job queued in a set now, if any. */
  async oldestQueued(set: string): Promise<number | undefined> {
    const prefix = queueIndexPrefix(set);
    let oldest: number | undefined;
    for (const [key, put] of this.pending.queue) {
      if (put && key.startsWith(prefix)) oldest = Math.min(oldest ?? Infinity, createdSecondsOfQueueKey(key));
    }
    // The index is ordered by created_at: the first entry not deleted here is the store's oldest.
    for await (const [key] of this.store.scan(prefix)) {
      if (this.pending.queue.get(key) === false) continue;
      oldest = Math.min(oldest ?? Infinity, createdSecondsOfQueueKey(key));
      break;
    }
    return oldest;
  }
}
