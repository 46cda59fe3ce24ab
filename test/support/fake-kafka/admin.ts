// The fake admin client: offsets as a read_committed client sees them (the high offset is
// the last stable one), the groups' committed offsets and members, topics. Faults on
// 'partitionOffsets', 'committedOffsets' and 'describeGroup', by topic or group.
import type {
  GroupDescription,
  KafkaAdminPort,
  NewTopic,
  PartitionOffsets,
  TopicMetadata,
} from '../../../platform/kafka-port.js';
import type { FakeCluster } from './cluster.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class FakeAdmin implements KafkaAdminPort {
  connected = false;

  constructor(private readonly cluster: FakeCluster) {}

  async connect(): Promise<void> {
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    if (this.connected) this.cluster.journal.push('admin disconnected');
    this.connected = false;
  }

  async describeCluster(): Promise<{ brokers: number }> {
    return { brokers: 1 };
  }

  async listTopics(): Promise<string[]> {
    return this.cluster.topicNames();
  }

  async topicMetadata(topics: readonly string[]): Promise<TopicMetadata[]> {
    return topics.map((name) => ({
      name,
      partitions: this.cluster
        .partitions(name)
        .map((p) => ({ partition: p.partition, leader: 0, replicas: [0], isr: [0] })),
    }));
  }

  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    for (const t of topics) this.cluster.createTopic(t.name, t.partitions);
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    for (const t of topics) this.cluster.deleteTopic(t);
  }

  async topicConfigs(
    topics: ReadonlyArray<{ name: string; configNames: readonly string[] }>,
  ): Promise<Map<string, Map<string, string>>> {
    return new Map(topics.map((t) => [t.name, new Map<string, string>()]));
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    await turn();
    return this.cluster.request('partitionOffsets', topic, () =>
      this.cluster.partitions(topic).map((p) => ({ partition: p.partition, low: p.low, high: p.lastStable })),
    );
  }

  async offsetsAtTime(
    _topic: string,
    _timestampMs: number,
  ): Promise<Array<{ partition: number; offset: bigint }>> {
    throw new Error('the fake broker keeps no timestamps');
  }

  async committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: bigint }>> {
    await turn();
    return this.cluster.request('committedOffsets', groupId, () =>
      this.cluster.partitions(topic).map((p) => ({
        partition: p.partition,
        offset: this.cluster.committedOffset(groupId, topic, p.partition) ?? -1n,
      })),
    );
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    await turn();
    return this.cluster.request('describeGroup', groupId, () => ({
      members: this.cluster
        .membersOf(groupId)
        .filter((m) => m.memberId !== undefined)
        .map((m) => ({ memberId: m.memberId!, assignment: { [m.topic]: [...m.assigned] } })),
    }));
  }

  async resetOffsetsToEarliest(groupId: string, topic: string): Promise<void> {
    for (const p of this.cluster.partitions(topic)) {
      this.cluster.commitOffset({ groupId, topic, partition: p.partition, offset: p.low });
    }
  }
}
