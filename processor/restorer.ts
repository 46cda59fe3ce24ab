// Restores one partition's store from its changelog partitions (Kafka Streams'
// StoreChangelogReader): reads each changelog partition that has records past the
// store's starting point up to the end offset fetched after the previous owner was
// fenced, copying every record's bytes into the store with the checkpoint it reaches.
// Only partitions with a tail are read and waited for, and the wait is on progress:
// a read that stops moving fails the restore instead of waiting forever. On request
// (a checkpoint restore) the queued-jobs index follows the jobs it copies, so a store
// restored from its checkpoint needs no recount.
import type { KafkaPort } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import { partitionKey } from '../platform/offsets.js';
import { PartitionReader } from '../platform/partition-reader.js';
import type { TopicNames } from '../platform/topics.js';
import { CHANGELOG_KINDS, type ChangelogKind, changelogTopic, decodeJob } from '../schemas/changelog.js';
import type { MetricCatalogue } from '../schemas/metrics.js';
import type { JobState } from '../schemas/model.js';
import type { ChangelogEnds } from './checkpoint.js';
import { PendingChanges } from './pending-changes.js';
import type { KeyValueStore, WriteOp } from './store.js';
import { copyOps, storeKey, storeOpsFor } from './store-layout.js';

/** A restore that stopped making progress before its end offsets (see the message). */
export class RestoreIncompleteError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RestoreIncompleteError';
  }
}

export interface RestoreRequest {
  store: KeyValueStore;
  partition: number;
  /** First offset to read per changelog. */
  from: ReadonlyMap<ChangelogKind, bigint>;
  ends: ReadonlyMap<ChangelogKind, ChangelogEnds>;
  signal: AbortSignal;
  now: () => number;
  /** Called with each batch's record count, for metrics. */
  onRecords?: (kind: ChangelogKind, count: number) => void;
  /**
   * Given (a checkpoint restore: the store held the index), the queued-jobs index is kept
   * in step with the jobs copied, its sets keyed as this catalogue keys them.
   */
  indexQueuedJobs?: MetricCatalogue;
}

interface ChangelogMessage {
  key: Buffer | null;
  value: Buffer | null;
}

/** The queued-jobs index entries that move with a batch of job records copied into the store. */
async function queueIndexOps(
  store: KeyValueStore,
  messages: readonly ChangelogMessage[],
  catalogue: MetricCatalogue,
): Promise<WriteOp[]> {
  const changes = new PendingChanges(catalogue);
  const latest = new Map<string, JobState | undefined>();
  for (const m of messages) {
    const key = m.key?.toString() ?? '';
    let previous = latest.get(key);
    if (!latest.has(key)) {
      const stored = await store.get(storeKey('jobs', key));
      previous = stored ? decodeJob(stored) : undefined;
    }
    const next = m.value ? decodeJob(m.value) : undefined;
    changes.setJob(key, previous, next ?? null);
    latest.set(key, next);
  }
  return changes.storeOnlyOps();
}

export class ChangelogRestorer {
  constructor(
    private readonly kafka: KafkaPort,
    private readonly topics: TopicNames,
    private readonly logger: Logger,
    /** Reader groups are named from this, so ACLs can grant them by prefix. */
    private readonly groupPrefix: string,
    /** How long a read may make no progress before the restore fails. */
    private readonly stallTimeoutMs: number,
  ) {}

  /** Reads every tail to its end; resolves with the records read. */
  async restore(request: RestoreRequest): Promise<number> {
    const { store, partition, signal } = request;
    const tails = CHANGELOG_KINDS.map((kind) => ({
      kind,
      topic: changelogTopic(this.topics, kind),
      from: request.from.get(kind)!,
      to: request.ends.get(kind)!.high,
    })).filter((t) => t.from < t.to);
    let records = 0;
    if (tails.length > 0) {
      const kindOf = new Map(tails.map((t) => [t.topic, t.kind]));
      const targets = new Map(tails.map((t) => [partitionKey(t.topic, partition), t.to]));
      const reader = new PartitionReader(this.kafka, this.logger, this.groupPrefix);
      // A failed store write inside the reader ends the wait at once.
      const failed = new AbortController();
      let failure: unknown;
      const stop = AbortSignal.any([signal, failed.signal]);
      // Set once every tail was read: the reader stops in the background (its disconnect
      // waits for a fetch in flight, up to its max wait, on a changelog nobody writes
      // yet) and writes nothing more.
      let read = false;
      try {
        await reader.start(
          tails.map((t) => ({ topic: t.topic, partition, from: t.from })),
          async (topic, _partition, messages) => {
            if (stop.aborted || read) return;
            const kind = kindOf.get(topic)!;
            const last = messages[messages.length - 1]!;
            try {
              const derived =
                kind === 'jobs' && request.indexQueuedJobs
                  ? await queueIndexOps(store, messages, request.indexQueuedJobs)
                  : [];
              const ops = copyOps(kind, messages);
              for (const op of derived) ops.push(op);
              for (const op of storeOpsFor([], new Map([[kind, BigInt(last.offset) + 1n]]), request.now())) {
                ops.push(op);
              }
              await store.write(ops);
            } catch (error) {
              failure = error;
              failed.abort();
              throw error;
            }
            records += messages.length;
            request.onRecords?.(kind, messages.length);
          },
        );
        await reader.waitForPositions(targets, this.stallTimeoutMs, stop);
        read = true;
      } catch (error) {
        await reader.stop();
        if (signal.aborted) throw signal.reason ?? error;
        if (failure) throw failure;
        throw new RestoreIncompleteError(`restore of partition ${partition}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      void reader.stop();
    }
    // Every changelog is read to its end (a tail may end in transaction markers only).
    await store.write(
      storeOpsFor(
        [],
        new Map(CHANGELOG_KINDS.map((kind) => [kind, request.ends.get(kind)!.high])),
        request.now(),
      ),
    );
    return records;
  }
}
