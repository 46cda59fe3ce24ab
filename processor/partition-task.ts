// One owned input partition: its RocksDB store, its transactional producer (one
// transactional id per input partition, which fences a zombie previous owner), the
// restore from the changelogs, and the consume-transform-produce transactions.
//
// Order of a commit: changelog records + input offsets in one Kafka transaction, and
// only after it committed, the same bytes + checkpoints into RocksDB in one batch. A
// crash between the two leaves RocksDB behind its checkpoint, never ahead of Kafka,
// and the next restore reads the tail.
import { join } from 'node:path';
import type { Producer, RecordMetadata, Transaction } from 'kafkajs';
import { fetchTopicOffsetsSettled, isProducerFenced, type Kafka } from '../platform/kafka.js';
import type { Logger } from '../platform/log.js';
import { PartitionReader, partitionKey } from '../platform/partition-reader.js';
import type { TopicNames } from '../platform/topics.js';
import { applyChunk, type InputRecord, PendingChanges, storeOpsFor } from './batch.js';
import {
  CHANGELOG_KINDS,
  CHECKPOINT_WRITTEN_AT_KEY,
  type ChangelogKind,
  changelogTopic,
  checkpointKey,
  decodeJob,
  decodeMarker,
  decodeRun,
  storePrefix,
} from './changelog.js';
import { expireJob, expireRun, isDedupeMarkerExpired, isRetentionOver } from './core/lifecycle.js';
import type { LifecycleLimits } from './core/types.js';
import type { ProcessorMetrics } from './metrics.js';
import { RocksStore } from './store.js';

export interface PartitionTaskOptions {
  kafka: Kafka;
  topics: TopicNames;
  partition: number;
  groupId: string;
  stateDir: string;
  logger: Logger;
  metrics: ProcessorMetrics;
  limits: LifecycleLimits;
  /** Deliveries per transaction; bounds the changelog batch below the broker's message size. */
  maxRecordsPerTransaction: number;
  /** Records per housekeeping transaction. */
  maxHousekeepingChanges: number;
  transactionTimeoutMs: number;
  restoreTimeoutMs: number;
  /** Ignore the local checkpoint (the previous task failed on this store). */
  distrustCheckpoint?: boolean;
  now: () => number;
}

const laterOf = (a: bigint, b: bigint): bigint => (a >= b ? a : b);

/**
 * Compaction drops a tombstone once it is older than the changelog's
 * delete.retention.ms (1 d, set by `topics create`; also the broker default). A store
 * whose checkpoints were written longer ago may hold keys deleted since, whose
 * tombstones the tail no longer has: restore it in full instead. 20 h leaves a margin.
 */
const CHECKPOINT_MAX_AGE_MS = 20 * 3_600_000;

export interface RestoreStats {
  mode: 'checkpoint' | 'full';
  records: number;
  durationMs: number;
}

export class PartitionTask {
  private store: RocksStore | undefined;
  private producer: Producer | undefined;
  /** Serialises transactions: kafkajs transactions on one producer must not overlap. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Next input offset to process; earlier offsets were already committed. */
  private nextOffset: bigint | undefined;
  private closed = false;
  get isClosed(): boolean {
    return this.closed;
  }
  /** Why the task gave up, when it did: the processor decides when to replace it. */
  failure: { at: number; fenced: boolean; store: boolean } | undefined;
  readonly ready: Promise<RestoreStats>;
  private restored = false;
  /** Restored and still usable. */
  get isReady(): boolean {
    return this.restored && !this.closed;
  }

  constructor(private readonly options: PartitionTaskOptions) {
    this.ready = this.enqueue(() => this.open());
    this.ready.then(
      () => {
        this.restored = true;
      },
      () => undefined,
    );
  }

  get partition(): number {
    return this.options.partition;
  }

  private get log(): Logger {
    return this.options.logger;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private get location(): string {
    return join(this.options.stateDir, this.options.groupId, `partition-${this.options.partition}`);
  }

  private async open(): Promise<RestoreStats> {
    const { kafka, groupId, partition, topics } = this.options;
    const started = performance.now();
    this.store = await this.openStoreWithRetry();
    this.producer = kafka.producer({
      transactionalId: `${groupId}-${topics.deliveries}-${partition}`,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.options.transactionTimeoutMs,
      // The broker answers CONCURRENT_TRANSACTIONS to the next transaction's first send
      // until the last one's markers are written, a few ms; the client-wide 200 ms first
      // backoff made every transaction wait ~220 ms. Java's client retries this at 20 ms.
      retry: { retries: 15, initialRetryTime: 5, maxRetryTime: 2000 },
    });
    await this.producer.connect();
    // kafkajs' connect() does not register the transactional id; its first
    // transaction() does. Do that now, before reading the end offsets: it fences any
    // previous owner and makes the coordinator abort that owner's open transaction,
    // so nothing it left open can commit behind the restore. (An empty abort sends
    // nothing.)
    await (await this.producer.transaction()).abort();
    const stats = await this.restore();
    stats.durationMs = performance.now() - started;
    this.options.metrics.restoreDuration.observe({ mode: stats.mode }, stats.durationMs / 1000);
    this.log.info(stats, 'partition restored');
    return stats;
  }

  private async openStoreWithRetry(): Promise<RocksStore> {
    // Another task of this process may still be closing the same directory after a
    // quick revoke-and-reassign; RocksDB's lock tells us to wait.
    for (let attempt = 0; ; attempt++) {
      try {
        return await RocksStore.open(this.location);
      } catch (error) {
        if (attempt >= 20 || !/lock/i.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private async restore(): Promise<RestoreStats> {
    const { kafka, topics, partition, logger } = this.options;
    const store = this.store!;
    const admin = kafka.admin();
    const ends = new Map<ChangelogKind, { low: bigint; high: bigint }>();
    await admin.connect();
    try {
      for (const kind of CHANGELOG_KINDS) {
        const offsets = await fetchTopicOffsetsSettled(admin, changelogTopic(topics, kind));
        const mine = offsets.find((o) => o.partition === partition);
        if (!mine) throw new Error(`changelog ${changelogTopic(topics, kind)} has no partition ${partition}`);
        ends.set(kind, { low: BigInt(mine.low), high: BigInt(mine.high) });
      }
    } finally {
      await admin.disconnect();
    }

    const checkpoints = new Map<ChangelogKind, bigint>();
    for (const kind of CHANGELOG_KINDS) {
      const raw = await store.get(checkpointKey(kind));
      if (raw) checkpoints.set(kind, BigInt(raw.toString()));
    }
    const writtenAt = Number((await store.get(CHECKPOINT_WRITTEN_AT_KEY))?.toString() ?? Number.NaN);
    const recent = this.options.now() - writtenAt <= CHECKPOINT_MAX_AGE_MS;
    // A checkpoint ahead of the changelog means the topics were recreated: start over.
    const usable =
      !this.options.distrustCheckpoint &&
      recent &&
      CHANGELOG_KINDS.every((kind) => {
        const at = checkpoints.get(kind);
        return at !== undefined && at <= ends.get(kind)!.high;
      });
    if (!usable && checkpoints.size > 0) {
      const why = this.options.distrustCheckpoint
        ? 'the last task failed on this store'
        : !recent
          ? 'checkpoint too old to trust'
          : 'checkpoint ahead of the changelog (topics recreated?)';
      logger.info(
        { checkpointWrittenAt: Number.isNaN(writtenAt) ? null : new Date(writtenAt).toISOString() },
        `${why}; full restore`,
      );
    }
    const mode: RestoreStats['mode'] = usable ? 'checkpoint' : 'full';
    if (!usable) await store.clear();

    const targets = new Map<string, bigint>();
    const starts = CHANGELOG_KINDS.map((kind) => {
      const { low, high } = ends.get(kind)!;
      const from = usable ? checkpoints.get(kind)! : low;
      targets.set(partitionKey(changelogTopic(topics, kind), partition), high);
      return { kind, topic: changelogTopic(topics, kind), partition, from: laterOf(from, low), high };
    });
    let records = 0;
    const pendingReads = starts.filter((s) => s.from < s.high);
    if (pendingReads.length > 0) {
      const kindOf = new Map(starts.map((s) => [s.topic, s.kind]));
      const reader = new PartitionReader(kafka, logger, `${this.options.groupId}-restore-`);
      try {
        await reader.start(
          pendingReads.map((s) => ({ topic: s.topic, partition, from: s.from })),
          async (topic, _partition, messages) => {
            const kind = kindOf.get(topic)!;
            const ops = messages.map((m) => ({
              key: `${storePrefix(kind)}${m.key?.toString() ?? ''}`,
              value: m.value,
            }));
            const last = messages[messages.length - 1]!;
            ops.push({ key: checkpointKey(kind), value: Buffer.from((BigInt(last.offset) + 1n).toString()) });
            await store.write(ops);
            records += messages.length;
            this.options.metrics.restoreRecords.inc({ topic: kind }, messages.length);
          },
        );
        await reader.waitForPositions(targets, this.options.restoreTimeoutMs);
      } finally {
        await reader.stop();
      }
    }
    // The tail may end in transaction markers; remember that everything is read.
    await store.write(storeOpsFor([], new Map(starts.map((s) => [s.kind, s.high])), this.options.now()));
    return { mode, records, durationMs: 0 };
  }

  /** Processes input records in transactions of bounded size; resolves when all committed. */
  process(records: readonly InputRecord[]): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) throw new Error(`partition ${this.partition} task is closed`);
      const fresh =
        this.nextOffset === undefined ? records : records.filter((r) => BigInt(r.offset) >= this.nextOffset!);
      const size = this.options.maxRecordsPerTransaction;
      for (let i = 0; i < fresh.length; i += size) await this.processChunk(fresh.slice(i, i + size));
    });
  }

  private async processChunk(records: readonly InputRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { metrics } = this.options;
    const pending = new PendingChanges();
    const now = this.options.now();
    const started = performance.now();
    let results: Awaited<ReturnType<typeof applyChunk>>;
    try {
      results = await applyChunk(this.store!, this.options.partition, pending, records, now);
    } catch (error) {
      // Input records are decoded defensively; what throws here is reading the store.
      metrics.storeErrors.inc({ operation: 'read' });
      await this.fail(error, 'store');
      throw new Error(
        `state store read for partition ${this.partition} failed: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    for (const result of results) pending.results[result] += 1;
    metrics.storeDuration.observe({ operation: 'apply' }, (performance.now() - started) / 1000);
    const nextOffset = BigInt(records[records.length - 1]!.offset) + 1n;
    await this.commit(pending, nextOffset);
    this.nextOffset = nextOffset;
    for (const [result, count] of Object.entries(pending.results)) {
      if (count > 0) metrics.deliveries.inc({ result }, count);
    }
    for (const bad of pending.invalid) {
      this.log.warn(
        { offset: bad.offset, deliveryId: bad.deliveryId, reason: bad.reason },
        'invalid delivery skipped',
      );
    }
  }

  /** One Kafka transaction (changelogs, and input offsets when given), then RocksDB. */
  private async commit(pending: PendingChanges, nextInputOffset: bigint | undefined): Promise<void> {
    const { topics, partition, metrics } = this.options;
    const records = pending.records(partition);
    const byTopic = new Map<string, Array<{ key: string; value: Buffer | null; partition: number }>>();
    for (const r of records) {
      const topic = changelogTopic(topics, r.kind);
      const messages = byTopic.get(topic) ?? [];
      messages.push({ key: r.key, value: r.value, partition });
      byTopic.set(topic, messages);
    }
    let metadata: RecordMetadata[];
    try {
      const transaction = await this.producer!.transaction();
      try {
        metadata = await this.sendAndCommit(transaction, byTopic, nextInputOffset);
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
    } catch (error) {
      metrics.transactions.inc({ outcome: 'aborted' });
      // A failed commit can leave the producer unable to start another transaction
      // (kafkajs keeps it in COMMITTING; a fenced one never recovers). Give the task
      // up: the next batch opens a new one, whose producer fences this one and aborts
      // whatever it left open, and whose restore reads what did commit.
      await this.fail(error, 'transaction');
      throw new Error(`transaction for partition ${partition} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    metrics.transactions.inc({ outcome: 'committed' });
    const checkpoints = new Map<ChangelogKind, bigint>();
    for (const m of metadata) {
      const kind = CHANGELOG_KINDS.find((k) => changelogTopic(topics, k) === m.topicName);
      if (kind && m.baseOffset !== undefined) {
        checkpoints.set(kind, BigInt(m.baseOffset) + BigInt(byTopic.get(m.topicName)?.length ?? 0));
      }
    }
    const started = performance.now();
    try {
      await this.store!.write(storeOpsFor(records, checkpoints, this.options.now()));
    } catch (error) {
      metrics.storeErrors.inc({ operation: 'write' });
      // Kafka has the data; the store is now behind its checkpoint, which the next
      // restore repairs. Give the task up so it is reopened (and restored).
      await this.fail(error, 'store');
      throw new Error(`state store write for partition ${partition} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    metrics.storeDuration.observe({ operation: 'write' }, (performance.now() - started) / 1000);
  }

  private async sendAndCommit(
    transaction: Transaction,
    byTopic: Map<string, Array<{ key: string; value: Buffer | null; partition: number }>>,
    nextInputOffset: bigint | undefined,
  ): Promise<RecordMetadata[]> {
    const { topics, partition, groupId } = this.options;
    let metadata: RecordMetadata[] = [];
    if (byTopic.size > 0) {
      metadata = await transaction.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    }
    if (nextInputOffset !== undefined) {
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [
          { topic: topics.deliveries, partitions: [{ partition, offset: nextInputOffset.toString() }] },
        ],
      });
    }
    await transaction.commit();
    return metadata;
  }

  /** Called from queued work after a failure: releases the producer and the store
   * (its RocksDB lock) at once, and only then reports the task closed, so that a
   * replacement never races the release for the lock. */
  private async fail(error: unknown, where: 'transaction' | 'store'): Promise<void> {
    await this.release();
    this.failure = { at: Date.now(), fenced: isProducerFenced(error), store: where === 'store' };
    this.closed = true;
  }

  private async release(): Promise<void> {
    await this.producer?.disconnect().catch(() => undefined);
    await this.store?.close().catch(() => undefined);
    this.producer = undefined;
    this.store = undefined;
  }

  /** Expires stale entities, tombstones retained completed ones and old dedupe markers. */
  housekeep(): Promise<number> {
    return this.enqueue(async () => {
      if (this.closed || !this.isReady) return 0;
      const { limits, metrics } = this.options;
      const store = this.store!;
      const now = this.options.now();
      const pending = new PendingChanges();
      const budget = this.options.maxHousekeepingChanges;
      for await (const [key, bytes] of store.scan(storePrefix('dedupe'))) {
        if (pending.size >= budget) break;
        if (isDedupeMarkerExpired(decodeMarker(bytes), now, limits)) pending.markers.set(key.slice(2), null);
      }
      for await (const [key, bytes] of store.scan(storePrefix('runs'))) {
        if (pending.size >= budget) break;
        const run = decodeRun(bytes);
        if (isRetentionOver(run, now, limits)) pending.retire('run', key.slice(2), run, now);
        else {
          const expired = expireRun(run, now, limits);
          if (expired) {
            pending.runs.set(key.slice(2), expired.state);
            pending.expired.push({ kind: 'run', reason: expired.reason });
          }
        }
      }
      for await (const [key, bytes] of store.scan(storePrefix('jobs'))) {
        if (pending.size >= budget) break;
        const job = decodeJob(bytes);
        if (isRetentionOver(job, now, limits)) pending.retire('job', key.slice(2), job, now);
        else {
          const expired = expireJob(job, now, limits);
          if (expired) {
            pending.jobs.set(key.slice(2), expired.state);
            pending.expired.push({ kind: 'job', reason: expired.reason });
          }
        }
      }
      if (pending.size === 0) return 0;
      await this.commit(pending, undefined);
      for (const e of pending.expired) metrics.expired.inc({ kind: e.kind, reason: e.reason });
      return pending.size;
    });
  }

  /** Waits for the work in flight, then releases the producer and the store. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      this.closed = true;
      await this.release();
    });
  }
}
