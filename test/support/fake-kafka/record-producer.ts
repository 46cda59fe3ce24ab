// The fake record producer (ingest's publisher): appends committed records at once and
// acknowledges each partition written. Faults on 'recordSend' by topic: timeout, late,
// partialSend (a partition neither written nor acknowledged), coordinatorMoved.
import type {
  PartitionAck,
  RecordProducer,
  RecordProducerOptions,
  TopicRecords,
} from '../../../platform/kafka-port.js';
import type { FakeCluster } from './cluster.js';
import { FakeKafkaError } from './errors.js';

export class FakeRecordProducer implements RecordProducer {
  private readonly listeners: Array<() => void> = [];
  private connected = false;

  constructor(
    private readonly cluster: FakeCluster,
    readonly options: RecordProducerOptions,
  ) {}

  async connect(): Promise<void> {
    this.connected = true;
  }

  async send(sends: readonly TopicRecords[]): Promise<PartitionAck[]> {
    await new Promise((resolve) => setImmediate(resolve));
    if (!this.connected) throw new FakeKafkaError('producer is not connected', undefined, false);
    const { cluster } = this;
    const subject = sends.map((s) => s.topic).join(',');
    return cluster.request('recordSend', subject, (partial) => {
      const acks: PartitionAck[] = [];
      for (const { topic, records } of sends) {
        const byPartition = new Map<number, typeof records>();
        for (const r of records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r]);
        for (const [partition, list] of byPartition) {
          if (
            partial?.topic === topic &&
            (partial.partition === undefined || partial.partition === partition)
          )
            continue;
          acks.push({ topic, partition, baseOffset: cluster.partition(topic, partition).append(list) });
        }
      }
      cluster.changed.fire();
      return acks;
    });
  }

  onDisconnect(listener: () => void): void {
    this.listeners.push(listener);
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    for (const listener of this.listeners) listener();
  }
}
