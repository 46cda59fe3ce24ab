// Publishes Deliveries to `<prefix>deliveries`, keyed by run id, with an idempotent
// producer and acks=all. Every send is bounded in time: the caller must be able to
// answer 503 within GitHub's 10 s budget while the cluster is down.
import type { Producer } from 'kafkajs';
import type { Kafka } from '../platform/kafka.js';
import type { Logger } from '../platform/log.js';
import { codecs, type Delivery } from '../schemas/index.js';

export class PublishTimeoutError extends Error {
  constructor(topic: string, timeoutMs: number) {
    super(`no ack from Kafka for ${topic} within ${timeoutMs} ms`);
    this.name = 'PublishTimeoutError';
  }
}

export interface PublishedRecord {
  partition: number;
  offset: string;
}

export interface DeliveryPublisherOptions {
  kafka: Kafka;
  topic: string;
  logger: Logger;
  sendTimeoutMs?: number;
}

export class DeliveryPublisher {
  private readonly producer: Producer;
  private connected: Promise<void> | undefined;
  private readonly sendTimeoutMs: number;

  constructor(private readonly options: DeliveryPublisherOptions) {
    this.sendTimeoutMs = options.sendTimeoutMs ?? 8000;
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

  /** Resolves only after every in-sync replica has the records (acks=all). */
  async publish(records: ReadonlyArray<{ key: string; delivery: Delivery }>): Promise<PublishedRecord[]> {
    const topic = this.options.topic;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new PublishTimeoutError(topic, this.sendTimeoutMs)),
        this.sendTimeoutMs,
      );
    });
    const send = async () => {
      await this.connect();
      const metadata = await this.producer.send({
        topic,
        acks: -1,
        messages: records.map((r) => ({
          key: r.key,
          value: codecs.delivery.encode(r.delivery),
          headers: { 'delivery-id': r.delivery.id, event: r.delivery.event },
        })),
      });
      return metadata.map((m) => ({ partition: m.partition, offset: m.baseOffset ?? m.offset ?? '' }));
    };
    try {
      return await Promise.race([send(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
