// The port's admin over kafkajs': answers in runstream's terms (bigint offsets, decoded
// group assignments, settings by topic).
import kafkajs, { type Admin } from 'kafkajs';
import type {
  GroupDescription,
  KafkaAdminPort,
  NewTopic,
  PartitionOffsets,
  TopicMetadata,
} from '../kafka-port.js';

const { AssignerProtocol, ConfigResourceTypes } = kafkajs;

/** The partitions a member's assignment gives it, per topic (empty when none or not a consumer's). */
function decodeAssignment(memberAssignment: Buffer): Record<string, number[]> {
  if (memberAssignment.length === 0) return {};
  try {
    return AssignerProtocol.MemberAssignment.decode(memberAssignment)?.assignment ?? {};
  } catch {
    return {};
  }
}

export class KafkajsAdmin implements KafkaAdminPort {
  constructor(private readonly admin: Admin) {}

  async connect(): Promise<void> {
    await this.admin.connect();
  }

  async disconnect(): Promise<void> {
    await this.admin.disconnect();
  }

  async describeCluster(): Promise<{ brokers: number }> {
    const cluster = await this.admin.describeCluster();
    return { brokers: cluster.brokers.length };
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async topicMetadata(topics: readonly string[]): Promise<TopicMetadata[]> {
    const metadata = await this.admin.fetchTopicMetadata({ topics: [...topics] });
    return metadata.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionId,
        leader: p.leader,
        replicas: p.replicas,
        isr: p.isr,
      })),
    }));
  }

  async createTopics(topics: readonly NewTopic[]): Promise<void> {
    await this.admin.createTopics({
      // kafkajs' own wait throws on UNKNOWN_TOPIC_OR_PARTITION while metadata settles.
      waitForLeaders: false,
      topics: topics.map((spec) => ({
        topic: spec.name,
        numPartitions: spec.partitions,
        replicationFactor: spec.replicationFactor,
        configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }

  async deleteTopics(topics: readonly string[]): Promise<void> {
    await this.admin.deleteTopics({ topics: [...topics] });
  }

  async topicConfigs(
    topics: ReadonlyArray<{ name: string; configNames: readonly string[] }>,
  ): Promise<Map<string, Map<string, string>>> {
    const { resources } = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map(({ name, configNames }) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: [...configNames],
      })),
    });
    return new Map(
      resources.map((r) => [
        r.resourceName,
        new Map(r.configEntries.map((e) => [e.configName, e.configValue])),
      ]),
    );
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const offsets = await this.admin.fetchTopicOffsets(topic);
    return offsets.map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }));
  }

  async offsetsAtTime(
    topic: string,
    timestampMs: number,
  ): Promise<Array<{ partition: number; offset: bigint }>> {
    const offsets = await this.admin.fetchTopicOffsetsByTimestamp(topic, timestampMs);
    return offsets.map((p) => ({ partition: p.partition, offset: BigInt(p.offset) }));
  }

  async committedOffsets(
    groupId: string,
    topic: string,
  ): Promise<Array<{ partition: number; offset: bigint }>> {
    const [offsets] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    return (offsets?.partitions ?? []).map((p) => ({ partition: p.partition, offset: BigInt(p.offset) }));
  }

  async describeGroup(groupId: string): Promise<GroupDescription> {
    const { groups } = await this.admin.describeGroups([groupId]);
    return {
      members: (groups[0]?.members ?? []).map((m) => ({
        memberId: m.memberId,
        assignment: decodeAssignment(m.memberAssignment),
      })),
    };
  }

  async resetOffsetsToEarliest(groupId: string, topic: string): Promise<void> {
    await this.admin.resetOffsets({ groupId, topic, earliest: true });
  }
}
