// Publishes Deliveries to `<prefix>deliveries`, keyed by run id, with an idempotent
// producer and acks=all. Every send is bounded in time: the caller must be able to
// answer 503 within GitHub's 10 s budget while the cluster is down.
import type { Message, Producer } from 'kafkajs';
import type { Kafka } from '../platform/kafka.js';
import type { Logger } from '../platform/log.js';
import { codecs, type Delivery } from '../schemas/index.js';

const MAX_COALESCED_BYTES = 900_000;
/** Bytes waiting for a send; beyond it a publish fails at once instead of queueing
 * behind a stalled cluster (two 25 MB webhooks fit). */
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

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
  kafka: Kafka;
  topic: string;
  logger: Logger;
  sendTimeoutMs?: number;
  maxQueuedBytes?: number;
}

interface Pending {
  messages: Message[];
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class DeliveryPublisher {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;
  private sending = false;
  private waiting: Pending[] = [];
  private queuedBytes = 0;
  private readonly sendTimeoutMs: number;
  private readonly maxQueuedBytes: number;

  constructor(private readonly options: DeliveryPublisherOptions) {
    this.sendTimeoutMs = options.sendTimeoutMs ?? 8000;
    this.maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.producer = options.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 2000 },
    });
    this.producer.on('producer.disconnect', () => {
      this.connected = undefined;
    });
  }

  /** Connects once; a failed connect is retried by the next call. */
  connect(): Promise<void> {
    if (!this.connected) {
      this.connected = this.producer.connect().catch((error: unknown) => {
        this.connected = undefined;
        throw error;
      });
    }
    return this.connected;
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
  async publish(records: ReadonlyArray<{ key: string; delivery: Delivery }>): Promise<void> {
    const topic = this.options.topic;
    const messages = records.map((r) => ({
      key: r.key,
      value: codecs.delivery.encode(r.delivery),
      headers: { 'delivery-id': r.delivery.id, event: r.delivery.event },
    }));
    const bytes = messages.reduce((n, m) => n + m.value.length, 0);
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.maxQueuedBytes) {
      throw new PublishQueueFullError(topic, this.queuedBytes, this.maxQueuedBytes);
    }
    let timer: NodeJS.Timeout | undefined;
    const acked = new Promise<void>((resolve, reject) => {
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
      await acked;
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
      await this.connect();
      await this.producer.send({
        topic: this.options.topic,
        acks: -1,
        messages: batch.flatMap((b) => b.messages),
      });
      for (const b of batch) b.resolve();
    } catch (error) {
      for (const b of batch) b.reject(error as Error);
    } finally {
      this.sending = false;
      void this.flush();
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
