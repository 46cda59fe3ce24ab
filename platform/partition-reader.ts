// Reads chosen partitions from chosen offsets (Kafka Streams' StoreChangelogReader
// reads this way) over the port's partition consumer: a static assignment read without
// any group (no JoinGroup, no coordinator, nothing committed), then each partition is
// seeked (docs/kafkajs-notes.md). A group per reader cost every restore Kafka's
// group.initial.rebalance.delay.ms (3 s by default) before its first fetch. Used for
// changelog restores, the exporter's view and tests. Reads committed data only; tells
// how far each partition was read, and when a read stalls.
import { randomUUID } from 'node:crypto';
import type { ConsumedRecord, KafkaPort, PartitionConsumer } from './kafka-port.js';
import type { Logger } from './log.js';
import { Offsets, partitionKey } from './offsets.js';

export interface PartitionStart {
  topic: string;
  partition: number;
  /** First offset to read; 'earliest' for the whole retained log. */
  from: bigint | 'earliest';
}

export type BatchHandler = (
  topic: string,
  partition: number,
  messages: readonly ConsumedRecord[],
) => Promise<void> | void;

/** A read made no progress toward its targets for the allowed time. */
export class ReadStalledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadStalledError';
  }
}

/** How much one fetch may return (the client's defaults: 10 MB, 1 MB per partition). */
export interface FetchLimits {
  maxBytes: number;
  maxBytesPerPartition: number;
}

export class PartitionReader {
  private consumer: PartitionConsumer | undefined;
  /** Next offset to read per partition, as far as this reader has seen. */
  private readonly positions = new Map<string, bigint>();
  private waiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly kafka: KafkaPort,
    private readonly logger: Logger,
    private readonly groupPrefix: string,
    private readonly fetch?: FetchLimits,
  ) {}

  position(topic: string, partition: number): bigint | undefined {
    return this.positions.get(partitionKey(topic, partition));
  }

  async start(starts: PartitionStart[], onBatch: BatchHandler): Promise<void> {
    const wanted = new Map<string, number[]>();
    for (const s of starts) wanted.set(s.topic, [...(wanted.get(s.topic) ?? []), s.partition]);
    const consumer = this.kafka.partitionConsumer({
      name: `${this.groupPrefix}reader-${randomUUID()}`,
      partitions: wanted,
      maxWaitTimeMs: 200,
      ...(this.fetch ? { fetch: this.fetch } : {}),
      retries: 10,
    });
    this.consumer = consumer;
    // Batches that only hold transaction markers never reach the handler; this still
    // tells how far the fetch position moved.
    consumer.onPosition((topic, partition, next) => this.advance(topic, partition, next));
    await consumer.run(async ({ topic, partition, records, nextOffset, heartbeat }) => {
      if (!wanted.get(topic)?.includes(partition)) {
        // Only without our kafkajs patch (a group's assignment instead of the static one).
        this.logger.error(
          { topic, partition },
          'partition reader got a partition it did not ask for; ignored (is patches/kafkajs applied? run npm ci)',
        );
        return;
      }
      if (records.length > 0) await onBatch(topic, partition, records);
      this.advance(topic, partition, nextOffset);
      await heartbeat();
    });
    for (const s of starts) {
      if (s.from !== 'earliest') consumer.seek(s.topic, s.partition, s.from);
    }
  }

  private advance(topic: string, partition: number, next: bigint): void {
    const key = partitionKey(topic, partition);
    const current = this.positions.get(key);
    if (current === undefined || next > current) this.positions.set(key, next);
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once every partition has been read up to (excluding) its target offset.
   * Rejects when `stallMs` pass with some partition behind and no position moving (a
   * slow read that makes progress never times out), when the signal aborts, or when
   * the reader is stopped.
   */
  async waitForPositions(
    targets: ReadonlyMap<string, bigint>,
    stallMs: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const behind = () =>
      [...targets].filter(([key, target]) => target > 0n && (this.positions.get(key) ?? -1n) < target);
    const progress = () => [...targets.keys()].map((key) => this.positions.get(key) ?? -1n).join(',');
    let seen = progress();
    let movedAt = Date.now();
    while (behind().length > 0) {
      if (this.stopped) throw new Error('partition reader stopped before reaching its targets');
      signal?.throwIfAborted();
      const now = progress();
      if (now !== seen) {
        seen = now;
        movedAt = Date.now();
      }
      const remaining = movedAt + stallMs - Date.now();
      if (remaining <= 0) {
        const detail = behind()
          .map(
            ([key, target]) =>
              `${key.replace('\u0000', '/')} at ${this.positions.get(key) ?? 'start'} of ${target}`,
          )
          .join(', ');
        throw new ReadStalledError(
          `no progress reading partitions to their end for ${stallMs} ms: ${detail}`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(remaining, 500));
        signal?.addEventListener('abort', done);
        this.waiters.push(done);
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) {
      await consumer
        .disconnect()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'reader disconnect failed'));
    }
  }
}

/** End offsets (high watermarks) of every partition of the given topics, for one-off readers. */
export async function endOffsets(kafka: KafkaPort, topics: string[]): Promise<Map<string, bigint>> {
  const offsets = new Offsets(kafka);
  try {
    return await offsets.highWatermarks(topics);
  } finally {
    await offsets.close();
  }
}
