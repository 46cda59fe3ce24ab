// One partition's aggregates recomputed from its deliveries, in a store of its own: a fresh
// temporary RocksDB (processor/store.ts) that nothing else opens. It runs the processor's
// rules (applyChunk: dedupe, state machine, caps, aggregates and gauges; expiry), the same
// code over fresh state, so what it shares with the running processors is the code and the
// configuration, never their state: no store, no changelog, no offset of theirs is read.
import { rm } from 'node:fs/promises';
import {
  decodeAggregate,
  decodeJob,
  decodeRun,
  isReservedKey,
  parseAggregateChangelogKey,
} from '../../schemas/changelog.js';
import type { MetricCatalogue } from '../../schemas/metrics.js';
import type { AggregateValue } from '../../schemas/model.js';
import { applyChunk } from '../apply-chunk.js';
import { type GaugeDelta, jobGaugeDeltas, runGaugeDeltas } from '../core/gauges.js';
import { expireJob, expireRun } from '../core/lifecycle.js';
import type { LifecycleLimits } from '../core/types.js';
import type { InputRecord } from '../delivery-record.js';
import { foldGauges } from '../gauges.js';
import { PendingChanges } from '../pending-changes.js';
import { StateReader } from '../state-reader.js';
import { RocksStore } from '../store.js';
import { changelogKeyOf, storeOpsFor, storePrefix } from '../store-layout.js';

export interface RecomputeOptions {
  location: string;
  partition: number;
  catalogue: MetricCatalogue;
  limits: LifecycleLimits;
  /** Deliveries applied per write to the store. */
  chunkSize: number;
  now: () => number;
  /** RocksDB memory of the store, as a processor's partition store has (RUNSTREAM_STORE_*). */
  memory: { cacheBytes: number; writeBufferBytes: number };
}

export class PartitionRecompute {
  private applied = 0;

  private constructor(
    private readonly store: RocksStore,
    private readonly options: RecomputeOptions,
  ) {}

  static async open(options: RecomputeOptions): Promise<PartitionRecompute> {
    await rm(options.location, { recursive: true, force: true });
    const store = await RocksStore.open(options.location, options.memory);
    await store.clear();
    return new PartitionRecompute(store, options);
  }

  /** Deliveries applied so far. */
  get deliveries(): number {
    return this.applied;
  }

  /** The next deliveries of the partition, in offset order. */
  async apply(records: readonly InputRecord[]): Promise<void> {
    const { chunkSize, partition, catalogue, limits, now } = this.options;
    for (let i = 0; i < records.length; i += chunkSize) {
      const chunk = records.slice(i, i + chunkSize);
      const at = now();
      const pending = new PendingChanges(catalogue);
      await applyChunk(this.store, partition, pending, chunk, at, limits);
      await this.write(pending, at);
      this.applied += chunk.length;
    }
  }

  private async write(pending: PendingChanges, at: number): Promise<void> {
    const records = pending.records(this.options.partition);
    await this.store.write(storeOpsFor(records, new Map(), at, pending.storeOnlyOps()));
  }

  /**
   * Expires stale runs and jobs as the processors' housekeeping does (core/lifecycle.ts), at
   * `now`, and returns the gauge series of every entity it expired: whether the processors
   * have expired one yet depends on when their housekeeping last ran over it (every
   * interval, a budget of changes a pass), which no delivery records, so those series are
   * told apart from differences (unsettled). Counters and histograms never depend on it.
   */
  async expire(now: number): Promise<Set<string>> {
    const { partition, catalogue, limits } = this.options;
    const pending = new PendingChanges(catalogue);
    const unsettled = new Set<string>();
    const seriesOf = (deltas: readonly GaugeDelta[]) => {
      for (const d of deltas) unsettled.add(catalogue.seriesKey(d.name, d.labels));
    };
    for await (const [key, bytes] of this.store.scan(storePrefix('runs'))) {
      const run = decodeRun(bytes);
      const expired = expireRun(run, now, limits);
      if (!expired) continue;
      seriesOf(runGaugeDeltas(run, undefined, catalogue));
      pending.setRun(changelogKeyOf('runs', key), run, expired.state);
    }
    for await (const [key, bytes] of this.store.scan(storePrefix('jobs'))) {
      const job = decodeJob(bytes);
      const expired = expireJob(job, now, limits);
      if (!expired) continue;
      seriesOf(jobGaugeDeltas(job, undefined, catalogue));
      pending.setJob(changelogKeyOf('jobs', key), job, expired.state);
    }
    await foldGauges(new StateReader(this.store, partition, pending), now);
    await this.write(pending, now);
    return unsettled;
  }

  /** The partition's recomputed series (admission and position records left out). */
  async aggregates(): Promise<Map<string, AggregateValue>> {
    const out = new Map<string, AggregateValue>();
    for await (const [key, bytes] of this.store.scan(storePrefix('aggregates'))) {
      const { seriesKey } = parseAggregateChangelogKey(changelogKeyOf('aggregates', key));
      if (!isReservedKey(seriesKey)) out.set(seriesKey, decodeAggregate(bytes));
    }
    return out;
  }

  /** Closes the store and removes its files. */
  async close(): Promise<void> {
    await this.store.close().catch(() => undefined);
    await rm(this.options.location, { recursive: true, force: true });
  }
}
