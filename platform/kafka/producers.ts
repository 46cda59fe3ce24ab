// The port's producers over kafkajs': records sent with the partition each names, and
// the broker's answers turned into per-partition acknowledgements.
import type {
  Kafka,
  Transaction as KafkajsTransaction,
  Message,
  Producer,
  RecordMetadata,
  RetryOptions,
} from 'kafkajs';
import type {
  KafkaErrorFacts,
  PartitionAck,
  RecordProducer,
  RecordProducerOptions,
  TopicRecords,
  Transaction,
  TransactionalProducer,
  TransactionalProducerOptions,
  TransactionOffsets,
} from '../kafka-port.js';

/** kafkajs' retry options from the port's (only what is given). */
export function retryOf(retry: RecordProducerOptions['retry']): RetryOptions | undefined {
  if (!retry) return undefined;
  return {
    retries: retry.retries,
    ...(retry.initialRetryTimeMs !== undefined ? { initialRetryTime: retry.initialRetryTimeMs } : {}),
    ...(retry.maxRetryTimeMs !== undefined ? { maxRetryTime: retry.maxRetryTimeMs } : {}),
  };
}

function topicMessagesOf(sends: readonly TopicRecords[]) {
  return sends.map(({ topic, records }) => ({
    topic,
    messages: records.map(
      (r): Message => ({
        key: r.key,
        value: r.value,
        partition: r.partition,
        ...(r.headers ? { headers: { ...r.headers } } : {}),
      }),
    ),
  }));
}

/** The partitions answered without error: kafkajs lists every partition it has an answer for. */
function acksOf(metadata: readonly RecordMetadata[]): PartitionAck[] {
  const acks: PartitionAck[] = [];
  for (const m of metadata) {
    if (m.errorCode === 0 && m.baseOffset !== undefined) {
      acks.push({ topic: m.topicName, partition: m.partition, baseOffset: BigInt(m.baseOffset) });
    }
  }
  return acks;
}

export class KafkajsRecordProducer implements RecordProducer {
  private readonly producer: Producer;

  constructor(client: Kafka, options: RecordProducerOptions) {
    const retry = retryOf(options.retry);
    this.producer = client.producer({
      ...(options.idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {}),
      allowAutoTopicCreation: false,
      ...(retry ? { retry } : {}),
    });
  }

  async connect(): Promise<void> {
    await this.producer.connect();
  }

  async send(sends: readonly TopicRecords[], acks: 'all' | 'leader' = 'all'): Promise<PartitionAck[]> {
    const metadata = await this.producer.sendBatch({
      acks: acks === 'all' ? -1 : 1,
      topicMessages: topicMessagesOf(sends),
    });
    return acksOf(metadata);
  }

  onDisconnect(listener: () => void): void {
    this.producer.on(this.producer.events.DISCONNECT, listener);
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** kafkajs' errors after which a transaction request may still reach the broker (the patch's and its own). */
const UNCERTAIN = new Set([
  'KafkaJSUncertainRequestError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionClosedError',
  'KafkaJSConnectionError',
]);

/**
 * Marks an error of a transaction request the port's way (KafkaErrorFacts.uncertain)
 * when kafkajs says the request may still reach the broker, with the request and epoch
 * the patch reports.
 */
export async function markingUncertain<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    for (
      let e = error as KafkaErrorFacts | undefined, depth = 0;
      e && depth < 10;
      e = e.cause as KafkaErrorFacts, depth++
    ) {
      if (!UNCERTAIN.has(e.name ?? '')) continue;
      const found = e as KafkaErrorFacts & { request?: unknown; producerEpoch?: unknown };
      Object.assign(error as object, {
        uncertain: true,
        ...(typeof found.request === 'string' ? { request: found.request } : {}),
        ...(typeof found.producerEpoch === 'number' ? { producerEpoch: found.producerEpoch } : {}),
      });
      break;
    }
    throw error;
  }
}

class KafkajsTransactionHandle implements Transaction {
  constructor(private readonly transaction: KafkajsTransaction) {}

  async send(sends: readonly TopicRecords[]): Promise<PartitionAck[]> {
    return acksOf(
      await markingUncertain(this.transaction.sendBatch({ acks: -1, topicMessages: topicMessagesOf(sends) })),
    );
  }

  async sendOffsets(offsets: TransactionOffsets): Promise<void> {
    await markingUncertain(
      this.transaction.sendOffsets({
        consumerGroupId: offsets.groupId,
        topics: [
          {
            topic: offsets.topic,
            partitions: [{ partition: offsets.partition, offset: offsets.offset.toString() }],
          },
        ],
      }),
    );
  }

  async commit(): Promise<void> {
    await markingUncertain(this.transaction.commit());
  }

  async abort(): Promise<void> {
    await markingUncertain(this.transaction.abort());
  }
}

export class KafkajsTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  private readonly producer: Producer;

  constructor(client: Kafka, options: TransactionalProducerOptions) {
    this.transactionalId = options.transactionalId;
    const retry = retryOf(options.retry);
    this.producer = client.producer({
      transactionalId: options.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      ...(options.transactionTimeoutMs !== undefined
        ? { transactionTimeout: options.transactionTimeoutMs }
        : {}),
      ...(retry ? { retry } : {}),
    });
  }

  /**
   * kafkajs registers the transactional id (InitProducerId) on the first transaction(),
   * not on connect(), and an empty abort sends nothing.
   */
  async init(): Promise<void> {
    await this.producer.connect();
    await (await this.producer.transaction()).abort();
  }

  async begin(): Promise<Transaction> {
    return new KafkajsTransactionHandle(await this.producer.transaction());
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}
