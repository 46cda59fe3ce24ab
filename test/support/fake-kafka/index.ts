// An in-memory implementation of the Kafka port (platform/kafka-port.ts) for the shell's
// unit tests (Kafka Streams' MockClientSupplier): one FakeCluster holds the topics, the
// transaction coordinator, groups and scripted faults; every client made is kept, so a
// test can see what the code under test created, disconnected or left open.
import type {
  AdminOptions,
  GroupConsumerOptions,
  KafkaPort,
  PartitionConsumerOptions,
  RecordProducerOptions,
  TransactionalProducerOptions,
} from '../../../platform/kafka-port.js';
import { FakeAdmin } from './admin.js';
import { FakeCluster } from './cluster.js';
import { FakeGroupConsumer } from './group-consumer.js';
import { FakePartitionConsumer } from './partition-consumer.js';
import { FakeRecordProducer } from './record-producer.js';
import { FakeTransactionalProducer } from './transactional-producer.js';

export { FakeCluster } from './cluster.js';
export type { Fault, LateOutcome, Operation } from './faults.js';
export { FakeGroupConsumer } from './group-consumer.js';
export { FakePartitionConsumer } from './partition-consumer.js';
export { FakeTransactionalProducer } from './transactional-producer.js';

export class FakeKafka implements KafkaPort {
  readonly transactionalProducers: FakeTransactionalProducer[] = [];
  readonly recordProducers: FakeRecordProducer[] = [];
  readonly groupConsumers: FakeGroupConsumer[] = [];
  readonly partitionConsumers: FakePartitionConsumer[] = [];
  readonly admins: FakeAdmin[] = [];

  constructor(readonly cluster: FakeCluster = new FakeCluster()) {}

  recordProducer(options: RecordProducerOptions = {}): FakeRecordProducer {
    const producer = new FakeRecordProducer(this.cluster, options);
    this.recordProducers.push(producer);
    return producer;
  }

  transactionalProducer(options: TransactionalProducerOptions): FakeTransactionalProducer {
    const producer = new FakeTransactionalProducer(this.cluster, options);
    this.transactionalProducers.push(producer);
    return producer;
  }

  groupConsumer(options: GroupConsumerOptions): FakeGroupConsumer {
    const consumer = new FakeGroupConsumer(this.cluster, options);
    this.groupConsumers.push(consumer);
    return consumer;
  }

  partitionConsumer(options: PartitionConsumerOptions): FakePartitionConsumer {
    const consumer = new FakePartitionConsumer(this.cluster, options);
    this.partitionConsumers.push(consumer);
    return consumer;
  }

  admin(_options?: AdminOptions): FakeAdmin {
    const admin = new FakeAdmin(this.cluster);
    this.admins.push(admin);
    return admin;
  }
}
