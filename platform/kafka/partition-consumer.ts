// The port's partition consumer over kafkajs'. kafkajs has no manual assign(); our patch
// gives its consumer a static assignment read without any group (no JoinGroup, no
// coordinator, nothing committed), then each partition is seeked
// (docs/kafkajs-notes.md). Reads committed data only.
import type { Consumer, Kafka } from 'kafkajs';
import type { PartitionBatch, PartitionConsumer, PartitionConsumerOptions } from '../kafka-port.js';
import { noRestartOnceStopped } from './no-restart.js';

export class KafkajsPartitionConsumer implements PartitionConsumer {
  private readonly consumer: Consumer;
  private readonly topics: string[];
  /** Set by disconnect(): a crash from then on does not restart it (noRestartOnceStopped). */
  private readonly stopped = { value: false };

  constructor(client: Kafka, options: PartitionConsumerOptions) {
    this.topics = [...options.partitions.keys()];
    this.consumer = client.consumer({
      // Never joined (static assignment); kafkajs still wants a name, used in its logs.
      groupId: options.name,
      staticAssignment: Object.fromEntries(
        [...options.partitions].map(([topic, list]) => [topic, [...list]]),
      ),
      readUncommitted: false,
      maxWaitTimeInMs: options.maxWaitTimeMs,
      ...options.fetch,
      retry: { retries: options.retries, restartOnFailure: noRestartOnceStopped(this.stopped) },
    });
  }

  onPosition(listener: (topic: string, partition: number, nextOffset: bigint) => void): void {
    // Batches that only hold transaction markers never reach eachBatch; this event
    // still tells how far the fetch position moved.
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      listener(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
    });
  }

  async run(handler: (batch: PartitionBatch) => Promise<void>): Promise<void> {
    const { consumer } = this;
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await consumer.run({
      // Resolving is what moves kafkajs' fetch position (nothing is committed).
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: ({ batch, heartbeat }) =>
        handler({
          topic: batch.topic,
          partition: batch.partition,
          records: batch.messages,
          nextOffset: BigInt(batch.lastOffset()) + 1n,
          heartbeat,
        }),
    });
  }

  seek(topic: string, partition: number, offset: bigint): void {
    this.consumer.seek({ topic, partition, offset: offset.toString() });
  }

  async disconnect(): Promise<void> {
    this.stopped.value = true;
    await this.consumer.disconnect();
  }
}
