// The port's client supplier over one kafkajs client (platform/kafka/index.ts builds it).
import type { Kafka } from 'kafkajs';
import type {
  AdminOptions,
  GroupConsumer,
  GroupConsumerOptions,
  KafkaAdminPort,
  KafkaPort,
  PartitionConsumer,
  PartitionConsumerOptions,
  RecordProducer,
  RecordProducerOptions,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../kafka-port.js';
import { KafkajsAdmin } from './admin.js';
import { KafkajsGroupConsumer } from './group-consumer.js';
import { KafkajsPartitionConsumer } from './partition-consumer.js';
import { KafkajsRecordProducer, KafkajsTransactionalProducer } from './producers.js';

export class KafkajsPort implements KafkaPort {
  constructor(private readonly client: Kafka) {}

  recordProducer(options: RecordProducerOptions = {}): RecordProducer {
    return new KafkajsRecordProducer(this.client, options);
  }

  transactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
    return new KafkajsTransactionalProducer(this.client, options);
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return new KafkajsGroupConsumer(this.client, options);
  }

  partitionConsumer(options: PartitionConsumerOptions): PartitionConsumer {
    return new KafkajsPartitionConsumer(this.client, options);
  }

  admin(options: AdminOptions = {}): KafkaAdminPort {
    return new KafkajsAdmin(
      this.client.admin(options.retries !== undefined ? { retry: { retries: options.retries } } : undefined),
    );
  }
}
