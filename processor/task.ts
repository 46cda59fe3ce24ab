// One owned input partition (Kafka Streams' StreamTask): its RocksDB store, its
// transactional producer, and an explicit lifecycle:
//
//   opening ──> restoring ──> running
//      │            │            │
//      └────────────┴────────────┴──> failed ──> closed   (and any state ──> closed)
//
// opening: the store is opened and the producer takes the transactional id, which
// fences the previous owner and makes the coordinator finish its open transaction.
// restoring: with nothing left in flight, the end offsets of the changelogs and the
// committed input offset are read, the checkpoint is judged, the tail (or the whole
// changelog) is copied into the store, and the gauges are counted again from it. running: input is processed in
// transactions. Any failure ends the task (failed, with the reason); the task manager
// decides when a new one takes over.
//
// Order of a commit: changelog records + input offset in one Kafka transaction, and
// only after it committed, the same bytes + checkpoints into RocksDB in one batch. A
// crash between the two leaves RocksDB behind its checkpoint, never ahead of Kafka,
// and the next restore reads the tail.
import type { KafkaPort } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import type { Offsets, PartitionEnds } from '../platform/offsets.js';
import type { TopicNames } from '../platform/topics.js';
import { UnknownSchemaError } from '../schemas/avro-codec.js';
import {
  aggregateChangelogKey,
  CHANGELOG_KINDS,
  type ChangelogKind,
  changelogTopic,
  encodeInputPosition,
  INPUT_POSITION_KEY,
} from '../schemas/changelog.js';
import { applyChunk } from './apply-chunk.js';
import type { ChangelogBatch } from './changelog-sends.js';
import { checkpointVerdict, type RestoreMode } from './checkpoint.js';
import type { ProcessorConfig } from './config.js';
import type { InputRecord } from './delivery-record.js';
import { scanForHousekeeping } from './housekeeping.js';
import type { ProcessorMetrics } from './metrics.js';
import { PendingChanges } from './pending-changes.js';
import { recountGauges } from './recount.js';
import { type RestoreSlots, recordsToRead, SMALL_RESTORE_RECORDS } from './restore-slots.js';
import { type ChangelogRestorer, RestoreIncompleteError } from './restorer.js';
import { markWarm, partitionDir, unmarkWarm } from './state-dirs.js';
import type { KeyValueStore } from './store.js';
import {
  type ChangelogRecord,
  readCheckpoint,
  recountedOp,
  storeOpsFor,
  wasRecounted,
} from './store-layout.js';
import {
  PartitionProducer,
  ProducerFencedError,
  TransactionFailedError,
  transactionalIdFor,
} from './transactions.js';

export type TaskState = 'opening' | 'restoring' | 'running' | 'failed' | 'closed';

const NEXT: Readonly<Record<TaskState, readonly TaskState[]>> = {
  opening: ['restoring', 'failed', 'closed'],
  restoring: ['running', 'failed', 'closed'],
  running: ['failed', 'closed'],
  failed: ['closed'],
  closed: [],
};

/** `input`: a record this build cannot read (a newer writer's); it waits, never skipped. */
export type FailureReason = 'fenced' | 'transaction' | 'store' | 'restore' | 'open' | 'input';

export interface TaskFailure {
  reason: FailureReason;
  /** When it failed (the injected clock). */
  at: number;
  message: string;
  /** The next task must not trust this store's checkpoint (restore in full). */
  distrustCheckpoint: boolean;
}

/** Thrown by process() and housekeep() once the task has failed or closed. */
export class TaskUnavailableError extends Error {
  constructor(
    readonly partition: number,
    readonly state: TaskState,
    options?: ErrorOptions,
  ) {
    super(`partition ${partition} task is ${state}`, options);
    this.name = 'TaskUnavailableError';
  }
}

export interface RestoreStats {
  mode: RestoreMode;
  records: number;
  durationMs: number;
}

/**
 * Where a committed chunk's time went, in milliseconds to a tenth: waiting behind the
 * task's earlier work, applying it to the state, its Kafka transaction, and the RocksDB
 * write after it (the "chunk committed" debug line).
 */
export interface ChunkTimings {
  queuedMs: number;
  applyMs: number;
  transactionMs: number;
  writeMs: number;
}

/** A chunk processed: the next offset to process, and for a committed chunk its timings. */
export interface ChunkProcessed {
  kind: 'processed';
  nextOffset: bigint;
  timings?: ChunkTimings;
}

/** The batch starts past the next offset to process: records would be skipped. */
export interface InputGap {
  kind: 'gap';
  expected: bigint;
  got: bigint;
}

/** A task's store; `replaced` says why an unreadable previous store was removed, if it was. */
export interface TaskStore extends KeyValueStore {
  readonly replaced?: string | undefined;
}

export type OpenStore = (location: string) => Promise<TaskStore>;

export interface TaskDeps {
  kafka: KafkaPort;
  topics: TopicNames;
  partition: number;
  config: Pick<
    ProcessorConfig,
    'groupId' | 'stateDir' | 'limits' | 'maxHousekeepingChanges' | 'transactionTimeoutMs' | 'catalogue'
  >;
  /** Opens (creating) the task's store in its directory: RocksDB in production (processor/store.ts). */
  openStore: OpenStore;
  logger: Logger;
  metrics: ProcessorMetrics;
  offsets: Offsets;
  restorer: ChangelogRestorer;
  /** Shared by the instance's tasks: how many large restores run at once. */
  restoreSlots: RestoreSlots;
  now: () => number;
  /** Why the previous task's store must not be trusted, if so. */
  distrust?: string;
}

export class PartitionTask {
  private current: TaskState = 'opening';
  private failed: TaskFailure | undefined;
  private store: TaskStore | undefined;
  private producer: PartitionProducer | undefined;
  /** The next input offset to process; everything before it is committed. */
  private next = 0n;
  /** Serialises the task's work: kafkajs transactions on one producer must not overlap. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly closing = new AbortController();
  /** Resolves once running; rejects if the task fails or closes first. */
  readonly ready: Promise<RestoreStats>;

  constructor(private readonly deps: TaskDeps) {
    this.ready = this.enqueue(() => this.open());
    this.ready.catch(() => undefined);
  }

  get partition(): number {
    return this.deps.partition;
  }

  get state(): TaskState {
    return this.current;
  }

  get failure(): TaskFailure | undefined {
    return this.failed;
  }

  get nextOffset(): bigint {
    return this.next;
  }

  private get log(): Logger {
    return this.deps.logger;
  }

  private to(state: TaskState): void {
    if (!NEXT[this.current].includes(state)) {
      throw new Error(`partition ${this.partition} task cannot go from ${this.current} to ${state}`);
    }
    this.current = state;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private get location(): string {
    return partitionDir(this.deps.config.stateDir, this.deps.config.groupId, this.partition);
  }

  private async open(): Promise<RestoreStats> {
    const { kafka, topics, partition, config, metrics, offsets } = this.deps;
    const started = performance.now();
    // How long each step took (ms), for the "partition restored" line.
    const steps: Record<string, number> = {};
    let stepStart = started;
    const step = (name: string) => {
      const now = performance.now();
      steps[name] = Math.round(now - stepStart);
      stepStart = now;
    };
    const signal = this.closing.signal;
    try {
      // The store opens while the previous owner is fenced, and the offsets are read as
      // soon as it is (never before: the end offsets and the committed input offset must
      // include what the coordinator settled of the previous owner's transaction), all six
      // at once. Both settle before going on, so a failure of one never leaves the other
      // half-open.
      this.producer = new PartitionProducer(
        kafka,
        transactionalIdFor(config.groupId, topics.deliveries, partition),
        partition,
        config.transactionTimeoutMs,
      );
      const producer = this.producer;
      const [store, read] = await Promise.allSettled([
        this.openStore(signal).then((opened) => {
          this.store = opened;
          steps.storeMs = Math.round(performance.now() - started);
          return opened;
        }),
        producer.init().then(() => {
          steps.fenceMs = Math.round(performance.now() - started);
          signal.throwIfAborted();
          return readOffsets(offsets, topics, config.groupId, partition);
        }),
      ]);
      if (store.status === 'rejected') throw store.reason;
      if (read.status === 'rejected') throw read.reason;
      const db = store.value;
      if (db.replaced !== undefined) {
        this.log.warn(
          { reason: db.replaced },
          'state store removed: this build cannot read it; restoring in full from the changelogs',
        );
      }
      step('openMs');
      // openMs: until the store is open, the previous owner fenced and the offsets read
      // (storeMs and fenceMs: since the start, offsetsMs: after the fence).
      steps.offsetsMs = steps.openMs! - steps.fenceMs!;
      signal.throwIfAborted();
      this.to('restoring');
      const { ends, input, committed } = read.value;
      const checkpoint = await readCheckpoint(db);
      const verdict = checkpointVerdict({
        checkpoint,
        ends,
        now: this.deps.now(),
        ...(this.deps.distrust ? { distrust: this.deps.distrust } : {}),
      });
      if (verdict.inconsistency) {
        metrics.inconsistencies.inc({ kind: verdict.inconsistency });
        this.log.error(
          { checkpoint: Object.fromEntries(checkpoint.offsets), ends: Object.fromEntries(ends) },
          `${verdict.reason}; restoring in full`,
        );
      } else if (verdict.mode === 'full' && checkpoint.offsets.size > 0) {
        this.log.info({ reason: verdict.reason }, 'restoring in full');
      }
      // A large restore (and its recount) waits for one of the instance's restore slots.
      const release =
        recordsToRead(verdict.from, ends) > SMALL_RESTORE_RECORDS
          ? await this.deps.restoreSlots.acquire(signal)
          : undefined;
      step('waitMs');
      let records: number;
      try {
        if (verdict.mode === 'full') {
          await unmarkWarm(config.stateDir, config.groupId, partition);
          await db.clear();
        }
        records = await this.deps.restorer.restore({
          store: db,
          partition,
          from: verdict.from,
          ends,
          signal,
          now: this.deps.now,
          onRecords: (kind, count) => metrics.restoreRecords.inc({ topic: kind }, count),
          ...(verdict.mode === 'checkpoint' ? { indexQueuedJobs: config.catalogue } : {}),
        });

        step('readMs');
        // Set before a recount commits: every transaction carries the input position.
        this.next = committed === undefined || committed < input.low ? input.low : committed;
        if (committed !== undefined && committed < input.low) {
          this.log.warn(
            { committed: committed.toString(), earliest: input.low.toString() },
            'deliveries were deleted by retention before being processed; resuming at the earliest retained one',
          );
        }
        // A checkpoint restore kept the gauges and the index in step with what it read; a
        // full one (or a store that never had gauges) counts them from every run and job.
        if (verdict.mode === 'full' || !(await wasRecounted(db))) {
          await this.recount();
          step('recountMs');
        }
      } finally {
        release?.();
      }

      await markWarm(config.stateDir, config.groupId, partition);
      this.to('running');
      const stats: RestoreStats = { mode: verdict.mode, records, durationMs: performance.now() - started };
      metrics.restoreDuration.observe({ mode: stats.mode }, stats.durationMs / 1000);
      this.log.info(
        {
          ...stats,
          from: Object.fromEntries([...verdict.from].map(([k, v]) => [k, v.toString()])),
          to: Object.fromEntries([...ends].map(([k, v]) => [k, v.high.toString()])),
          nextOffset: this.next.toString(),
          ...steps,
        },
        'partition restored',
      );
      return stats;
    } catch (error) {
      if (signal.aborted) {
        await this.release();
        throw new TaskUnavailableError(partition, 'closed', { cause: error });
      }
      if (error instanceof RestoreIncompleteError) {
        metrics.inconsistencies.inc({ kind: 'restore_incomplete' });
        await this.fail('restore', error, true);
      } else if (isStoreError(error)) {
        await this.fail('store', error, true);
      } else {
        await this.fail('open', error, false);
      }
      throw error;
    }
  }

  /**
   * Counts the gauges again from the restored runs and jobs and rebuilds the queued-jobs
   * index; commits corrections of the stored gauge aggregates, if any.
   */
  private async recount(): Promise<void> {
    const { pending, corrected, hadGauges } = await recountGauges(
      this.store!,
      this.deps.now(),
      this.deps.config.catalogue,
    );
    if (corrected === 0) {
      await this.store!.write([recountedOp]);
      return;
    }
    if (hadGauges) {
      this.deps.metrics.inconsistencies.inc({ kind: 'gauge_drift' });
      this.log.error({ corrected }, 'stored gauges differed from the runs and jobs restored; corrected');
    } else {
      this.log.info(
        { series: corrected },
        'gauges counted from the restored runs and jobs for the first time',
      );
    }
    await this.commit(pending, undefined);
    await this.store!.write([recountedOp]);
  }

  private async openStore(signal: AbortSignal): Promise<TaskStore> {
    // The previous task of this partition in this process may still be releasing the
    // same directory after a quick revoke-and-reassign; RocksDB's lock says so.
    for (let attempt = 0; ; attempt++) {
      signal.throwIfAborted();
      try {
        return await this.deps.openStore(this.location);
      } catch (error) {
        if (attempt >= 40 || !/lock/i.test(String(error))) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /**
   * Processes input records (offset order, one chunk of a transaction's size) in one
   * transaction. Records before the next offset were committed already and are
   * skipped; a chunk starting past it is refused as a gap, since records would be lost.
   */
  process(records: readonly InputRecord[]): Promise<ChunkProcessed | InputGap> {
    const called = performance.now();
    return this.enqueue(async () => {
      this.assertRunning();
      const fresh = records.filter((r) => BigInt(r.offset) >= this.next);
      if (fresh.length === 0) return { kind: 'processed', nextOffset: this.next };
      const first = BigInt(fresh[0]!.offset);
      if (first > this.next) return { kind: 'gap', expected: this.next, got: first };
      const { metrics, partition, topics, config } = this.deps;
      const pending = new PendingChanges(config.catalogue);
      const started = performance.now();
      const queuedMs = started - called;
      let results: Awaited<ReturnType<typeof applyChunk>>;
      try {
        results = await applyChunk(this.store!, partition, pending, fresh, this.deps.now(), config.limits);
      } catch (error) {
        if (error instanceof UnknownSchemaError) {
          // Nothing was written; the state is sound. The partition waits for the upgrade.
          await this.fail('input', error, false);
          throw new TaskUnavailableError(partition, 'failed', { cause: error });
        }
        // Other input records are decoded defensively; what throws here is reading the store.
        metrics.storeErrors.inc({ operation: 'read' });
        await this.fail('store', error, true);
        throw new TaskUnavailableError(partition, 'failed', { cause: error });
      }
      for (const result of results) pending.results[result] += 1;
      const applyMs = performance.now() - started;
      metrics.storeDuration.observe({ operation: 'apply' }, applyMs / 1000);
      const nextOffset = BigInt(fresh[fresh.length - 1]!.offset) + 1n;
      const { transactionMs, writeMs } = await this.commit(pending, {
        groupId: config.groupId,
        topic: topics.deliveries,
        partition,
        offset: nextOffset,
      });
      this.next = nextOffset;
      for (const [result, count] of Object.entries(pending.results)) {
        if (count > 0) metrics.deliveries.inc({ result }, count);
      }
      for (const c of pending.capped) metrics.capped.inc({ kind: c.kind, reason: c.reason });
      for (const bad of pending.invalid) {
        this.log.warn(
          { offset: bad.offset, deliveryId: bad.deliveryId, reason: bad.reason },
          'invalid delivery skipped',
        );
      }
      const ms = (value: number) => Math.round(value * 10) / 10;
      const timings = {
        queuedMs: ms(queuedMs),
        applyMs: ms(applyMs),
        transactionMs: ms(transactionMs),
        writeMs: ms(writeMs),
      };
      return { kind: 'processed', nextOffset, timings };
    });
  }

  /** Expires stale entities, tombstones retained completed ones and old dedupe markers. */
  housekeep(): Promise<number> {
    return this.enqueue(async () => {
      if (this.current !== 'running') return 0;
      const { limits, maxHousekeepingChanges, catalogue } = this.deps.config;
      const now = this.deps.now();
      const pending = await scanForHousekeeping(
        this.store!,
        this.partition,
        now,
        limits,
        maxHousekeepingChanges,
        catalogue,
      ).catch(async (error: unknown) => {
        this.deps.metrics.storeErrors.inc({ operation: 'read' });
        await this.fail('store', error, true);
        throw new TaskUnavailableError(this.partition, 'failed', { cause: error });
      });
      if (pending.size === 0) return 0;
      await this.commit(pending, undefined);
      for (const e of pending.expired) this.deps.metrics.expired.inc({ kind: e.kind, reason: e.reason });
      return pending.size;
    });
  }

  /** One Kafka transaction (changelogs, and the input offset when given), then RocksDB; how long each took. */
  private async commit(
    pending: PendingChanges,
    input: Parameters<PartitionProducer['commit']>[1],
  ): Promise<{ transactionMs: number; writeMs: number }> {
    const { topics, partition, metrics } = this.deps;
    // Last in the transaction's aggregates records: the input offset the partition's state
    // now reflects (this chunk's next offset, or the current one for housekeeping and
    // recounts), the consistent cut `runstream verify` reads (schemas/changelog.ts).
    const records: ChangelogRecord[] = [
      ...pending.records(partition),
      {
        kind: 'aggregates',
        key: aggregateChangelogKey(partition, INPUT_POSITION_KEY),
        value: encodeInputPosition(input?.offset ?? this.next),
      },
    ];
    const batch = new Map<string, Array<{ key: string; value: Buffer | null }>>();
    for (const r of records) {
      const topic = changelogTopic(topics, r.kind);
      const messages = batch.get(topic) ?? [];
      messages.push({ key: r.key, value: r.value });
      batch.set(topic, messages);
    }
    let next: Map<string, bigint>;
    const transactionStarted = performance.now();
    try {
      next = await this.producer!.commit(batch as ChangelogBatch, input);
    } catch (error) {
      const unknown = error instanceof TransactionFailedError && error.outcome === 'unknown';
      metrics.transactions.inc({ outcome: unknown ? 'unknown' : 'aborted' });
      if (error instanceof ProducerFencedError) {
        await this.fail('fenced', error, false);
      } else {
        if (error instanceof TransactionFailedError) {
          // The producer is spent. The next task's producer bumps the epoch, which fences a
          // request of this one still in flight and ends its transaction, and its restore
          // reads what committed: the checkpoint predates this transaction, so the
          // changelogs' tail and the committed input offset decide, for either outcome.
          if (unknown) metrics.inconsistencies.inc({ kind: 'transaction_outcome_unknown' });
          this.log.warn(
            { ...error.belief, outcome: error.outcome, nextOffset: input?.offset.toString() },
            unknown
              ? 'transaction outcome unknown; reopening the partition to learn it from Kafka'
              : 'transaction aborted; reopening the partition to restore from Kafka',
          );
        }
        await this.fail('transaction', error, false);
      }
      throw new TaskUnavailableError(partition, 'failed', { cause: error });
    }
    metrics.transactions.inc({ outcome: 'committed' });
    const transactionMs = performance.now() - transactionStarted;
    const checkpoints = new Map<ChangelogKind, bigint>();
    for (const kind of CHANGELOG_KINDS) {
      const offset = next.get(changelogTopic(topics, kind));
      if (offset !== undefined) checkpoints.set(kind, offset);
    }
    const started = performance.now();
    try {
      await this.store!.write(storeOpsFor(records, checkpoints, this.deps.now(), pending.storeOnlyOps()));
    } catch (error) {
      metrics.storeErrors.inc({ operation: 'write' });
      // Kafka has the data; the store is now behind its checkpoint's promise. Restore in full.
      await this.fail('store', error, true);
      throw new TaskUnavailableError(partition, 'failed', { cause: error });
    }
    const writeMs = performance.now() - started;
    metrics.storeDuration.observe({ operation: 'write' }, writeMs / 1000);
    return { transactionMs, writeMs };
  }

  private assertRunning(): void {
    if (this.current !== 'running') throw new TaskUnavailableError(this.partition, this.current);
  }

  /** From queued work: releases the producer and the store (its RocksDB lock) first, so
   * that a replacement never races the release for the lock; then reports the failure. */
  private async fail(reason: FailureReason, error: unknown, distrustCheckpoint: boolean): Promise<void> {
    await this.release();
    this.failed = { reason, at: this.deps.now(), message: (error as Error).message, distrustCheckpoint };
    this.to('failed');
    this.deps.metrics.taskFailures.inc({ reason });
    const line = `partition task failed (${reason}); the task manager opens a new one`;
    // Settled by the next task (Kafka holds all of a transaction or none); a partition that
    // keeps failing shows in runstream_processor_ready_partitions and its alert.
    if (reason === 'fenced' || reason === 'transaction') this.log.warn({ err: error }, line);
    else this.log.error({ err: error }, line);
  }

  private async release(): Promise<void> {
    const { producer, store } = this;
    this.producer = undefined;
    this.store = undefined;
    await producer?.close();
    await store?.close().catch(() => undefined);
  }

  /** Stops a restore at once, waits for the work in flight, then releases everything. */
  close(): Promise<void> {
    this.closing.abort(new TaskUnavailableError(this.partition, 'closed'));
    return this.enqueue(async () => {
      await this.release();
      if (this.current !== 'closed') this.to('closed');
    });
  }
}

/**
 * A partition's offsets for its restore, all requested at once: the end offsets of its
 * changelogs and of its input partition, and the group's committed input offset.
 */
async function readOffsets(
  offsets: Offsets,
  topics: TopicNames,
  groupId: string,
  partition: number,
): Promise<{ ends: Map<ChangelogKind, PartitionEnds>; input: PartitionEnds; committed: bigint | undefined }> {
  const [changelogs, inputEnds, committedOffsets] = await Promise.all([
    Promise.all(CHANGELOG_KINDS.map((kind) => offsets.ends(changelogTopic(topics, kind)))),
    offsets.ends(topics.deliveries),
    offsets.committed(groupId, topics.deliveries),
  ]);
  const ends = new Map<ChangelogKind, PartitionEnds>();
  CHANGELOG_KINDS.forEach((kind, i) => {
    const end = changelogs[i]!.get(partition);
    if (!end) throw new Error(`changelog ${changelogTopic(topics, kind)} has no partition ${partition}`);
    ends.set(kind, end);
  });
  const input = inputEnds.get(partition);
  if (!input) throw new Error(`${topics.deliveries} has no partition ${partition}`);
  return { ends, input, committed: committedOffsets.get(partition) };
}

function isStoreError(error: unknown): boolean {
  return (error as { name?: string } | undefined)?.name === 'StoreError';
}
