// Publishes Deliveries to `<prefix>deliveries`, keyed by run id, with an idempotent
// producer and acks=all. Every send is bounded in time: the caller must be able to
// answer 503 within GitHub's 10 s budget while the cluster is down.
//
// Each record goes to the partition of its key (partitionForKey, the same rule the
// client applied before), chosen here so that the publisher knows where every record
// must land: a send resolves only once every targeted partition answered without
// error, and each delivery learns its partition and offset. A partition missing from
// the answer was never written (kafkajs 2.2.4 could drop one silently on a leader
// move; see patches/ and docs/kafkajs-notes.md): it is sent again.
//
// After a send fails, its producer is replaced. kafkajs rolls back the sequence
// numbers of every partition of a failed produce request, including partitions the
// broker did write; the next records for such a partition would reuse the written
// batch's sequence, and the broker would take them for a duplicate of it: answered
// with the old batch's offset, never written. A new producer has a new producer id,
// so no sequence can collide (Java's client bumps the epoch instead, KIP-360).
import type { KafkaPort, OutgoingRecord, PartitionAck, RecordProducer } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import { codecs } from '../schemas/codecs.js';
import { type Delivery, partitionForKey } from '../schemas/delivery.js';

const MAX_COALESCED_BYTES = 900_000;
/** Bytes waiting for a send; beyond it a publish fails at once instead of queueing
 * behind a stalled cluster. Only signed workflow_run and workflow_job deliveries get
 * here (tens of KB each; a 25 MB one still fits); each also holds its request body
 * while it waits, so the queue costs up to twice this (docs/operations.md, "Ingest
 * under attack", sums ingest's memory). */
const DEFAULT_MAX_QUEUED_BYTES = 32 * 1024 * 1024;

export class PublishTimeoutError extends Error {
  constructor(topic: string, timeoutMs: number) {
    super(`no ack from Kafka for ${topic} within ${timeoutMs} ms`);
    this.name = 'PublishTimeoutError';
  }
}

export class PublishQueueFullError extends Error {
  constructor(topic: string, queuedBytes: number, maxQueuedBytes: number) {
    super(`${queuedBytes} bytes already wait for ${topic} (limit ${maxQueuedBytes}); not queueing more`);
    this.name = 'PublishQueueFullError';
  }
}

export interface DeliveryPublisherOptions {
  kafka: KafkaPort;
  topic: string;
  logger: Logger;
  sendTimeoutMs?: number;
  maxQueuedBytes?: number;
}

export class PublishIncompleteError extends Error {
  constructor(topic: string, partitions: readonly number[]) {
    super(`Kafka did not acknowledge partitions ${partitions.join(', ')} of ${topic}`);
    this.name = 'PublishIncompleteError';
  }
}

/** Where a published record is: its partition and offset on the topic. */
export interface Position {
  partition: number;
  offset: string;
}

interface Pending {
  messages: OutgoingRecord[];
  bytes: number;
  resolve: (positions: Position[]) => void;
  reject: (error: Error) => void;
}

/** Sends of one batch, at most: the first, and resends of what an answer lacked. */
const MAX_SEND_ROUNDS = 5;

export class DeliveryPublisher {
  private producer: RecordProducer | undefined;
  private connected: Promise<RecordProducer> | undefined;
  private partitions: Promise<number> | undefined;
  private sending = false;
  private waiting: Pending[] = [];
  private queuedBytes = 0;
  private readonly sendTimeoutMs: number;
  private readonly maxQueuedBytes: number;

  constructor(private readonly options: DeliveryPublisherOptions) {
    this.sendTimeoutMs = options.sendTimeoutMs ?? 8000;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  }

  /** Connects a producer once; a failed connect is retried by the next call. */
  connect(): Promise<RecordProducer> {
    if (!this.connected) {
      const producer = this.options.kafka.recordProducer({
        idempotent: true,
        // About 6 s of retries, within the send timeout: a leader election fits.
        retry: { retries: 8, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 },
      });
      producer.onDisconnect(() => {
        if (this.producer === producer) this.connected = undefined;
      });
      this.producer = producer;
      this.connected = producer.connect().then(
        () => producer,
        (error: unknown) => {
          this.discardProducer();
          throw error;
        },
      );
    }
    return this.connected;
  }

  /** Replaces the producer: the next send connects a new one, with a new producer id. */
  private discardProducer(): void {
    const producer = this.producer;
    this.producer = undefined;
    this.connected = undefined;
    void producer?.disconnect().catch(() => undefined);
  }

  /** The topic's partition count, read once (changelogs must match it, so it never changes). */
  private partitionCount(): Promise<number> {
    this.partitions ??= (async () => {
      const admin = this.options.kafka.admin();
      await admin.connect();
      try {
        const topics = await admin.topicMetadata([this.options.topic]);
        const count = topics[0]?.partitions.length ?? 0;
        if (count === 0) throw new Error(`topic ${this.options.topic} has no partitions`);
        return count;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    })().catch((error: unknown) => {
      this.partitions = undefined;
      throw error;
    });
    return this.partitions;
  }

  /**
   * Resolves only after every in-sync replica has the records (acks=all). Calls made
   * while a send is in flight are coalesced into the next send: the idempotent
   * producer allows one request in flight, so one send per delivery would queue
   * every concurrent webhook behind the others.
   *
   * A call that times out while still queued is withdrawn, so what was answered 503
   * is never sent. One already in a send cannot be recalled and may still land; the
   * sender's redelivery reuses its delivery id, which the processors dedupe.
   */
  async publish(records: ReadonlyArray<{ key: string; delivery: Delivery }>): Promise<Position[]> {
    const topic = this.options.topic;
    const partitions = await this.partitionCount();
    const messages = records.map((r) => ({
      key: r.key,
      partition: partitionForKey(r.key, partitions),
      value: codecs.delivery.encode(r.delivery),
      headers: { 'delivery-id': r.delivery.id, event: r.delivery.event },
    }));
    const bytes = messages.reduce((n, m) => n + m.value.length, 0);
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.maxQueuedBytes) {
      throw new PublishQueueFullError(topic, this.queuedBytes, this.maxQueuedBytes);
    }
    let timer: NodeJS.Timeout | undefined;
    const acked = new Promise<Position[]>((resolve, reject) => {
      const pending: Pending = { messages, bytes, resolve, reject };
      this.waiting.push(pending);
      this.queuedBytes += bytes;
      timer = setTimeout(() => {
        this.withdraw(pending);
        reject(new PublishTimeoutError(topic, this.sendTimeoutMs));
      }, this.sendTimeoutMs);
    });
    void this.flush();
    try {
      return await acked;
    } finally {
      clearTimeout(timer);
    }
  }

  private withdraw(pending: Pending): void {
    const index = this.waiting.indexOf(pending);
    if (index < 0) return; // already taken by a send
    this.waiting.splice(index, 1);
    this.queuedBytes -= pending.bytes;
  }

  private async flush(): Promise<void> {
    if (this.sending || this.waiting.length === 0) return;
    this.sending = true;
    // Coalesce up to ~900 KB (at least one request) so a partition's record batch stays
    // under the broker's default 1 MB message size; bigger webhooks go alone and rely
    // on the topic's max.message.bytes (see platform/topics.ts).
    let take = 0;
    let bytes = 0;
    while (take < this.waiting.length) {
      const size = this.waiting[take]!.bytes;
      if (take > 0 && bytes + size > MAX_COALESCED_BYTES) break;
      bytes += size;
      take += 1;
    }
    const batch = this.waiting.splice(0, take);
    this.queuedBytes -= bytes;
    try {
      const producer = await this.connect();
      const positions = await this.sendAll(
        producer,
        batch.flatMap((b) => b.messages),
      );
      let next = 0;
      for (const b of batch) {
        b.resolve(positions.slice(next, next + b.messages.length));
        next += b.messages.length;
      }
    } catch (error) {
      this.discardProducer();
      for (const b of batch) b.reject(error as Error);
    } finally {
      this.sending = false;
      void this.flush();
    }
  }

  /**
   * Sends the messages until every partition they target has answered without error,
   * and returns each message's position. A partition's messages of one send are one
   * batch, in order (the port's PartitionAck), so the i-th is at its base offset + i.
   */
  private async sendAll(first: RecordProducer, messages: readonly OutgoingRecord[]): Promise<Position[]> {
    let producer = first;
    const positions: Array<Position | undefined> = new Array(messages.length);
    let unsent = messages.map((_, i) => i);
    for (let round = 1; unsent.length > 0; round++) {
      const acks = await producer.send([
        { topic: this.options.topic, records: unsent.map((i) => messages[i]!) },
      ]);
      const answered = new Map<number, PartitionAck>();
      for (const ack of acks) if (ack.topic === this.options.topic) answered.set(ack.partition, ack);
      const seen = new Map<number, number>();
      const missing: number[] = [];
      for (const i of unsent) {
        const partition = messages[i]!.partition;
        const answer = answered.get(partition);
        if (!answer) {
          missing.push(i);
          continue;
        }
        const index = seen.get(partition) ?? 0;
        seen.set(partition, index + 1);
        positions[i] = { partition, offset: (answer.baseOffset + BigInt(index)).toString() };
      }
      if (missing.length > 0) {
        const lacking = [...new Set(missing.map((i) => messages[i]!.partition))].sort((a, b) => a - b);
        if (round >= MAX_SEND_ROUNDS) throw new PublishIncompleteError(this.options.topic, lacking);
        // Whatever the client believes about those partitions' sequences is suspect.
        this.discardProducer();
        producer = await this.connect();
        this.options.logger.warn(
          { topic: this.options.topic, partitions: lacking, round },
          'Kafka acknowledged the send without some partitions; sending their records again',
        );
      }
      unsent = missing;
    }
    return positions as Position[];
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    this.connected = undefined;
    await producer?.disconnect();
  }
}
