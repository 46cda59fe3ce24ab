// The port's group consumer over kafkajs': one topic, batches handed over in the port's
// terms, and the port's pure assignor carried through kafkajs' assigner protocol (each
// member's state in its join's user data, the leader's decision in the assignment).
import kafkajs, { type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs';
import type {
  ConsumerCrash,
  GroupAssignor,
  GroupBatchHandler,
  GroupConsumer,
  GroupConsumerOptions,
  GroupMember,
} from '../kafka-port.js';
import { noRestartOnceStopped } from './no-restart.js';

const { AssignerProtocol, PartitionAssigners } = kafkajs;

interface UserData {
  owned: number[];
  warm: number[];
}

/** kafkajs' assigner over the port's pure one; `describe` tells this member's state at each join. */
export function kafkajsAssigner(topic: string, assignor: GroupAssignor): PartitionAssigner {
  const { name } = assignor;
  return ({ cluster }) => ({
    name,
    version: 1,
    async assign({ members, topics }) {
      await cluster.refreshMetadataIfNecessary();
      const partitions = topics.includes(topic)
        ? cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId)
        : [];
      const states = members.map((member): GroupMember => {
        const data = AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData;
        let parsed: UserData = { owned: [], warm: [] };
        try {
          if (data && data.length > 0) parsed = JSON.parse(data.toString('utf8')) as UserData;
        } catch {
          // A member of another version: it owns and holds nothing we know of.
        }
        return { memberId: member.memberId, owned: parsed.owned ?? [], warm: parsed.warm ?? [] };
      });
      const assignment = assignor.assign(states, partitions);
      return members.map((member) => ({
        memberId: member.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: { [topic]: assignment.get(member.memberId) ?? [] },
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 1,
          topics,
          userData: Buffer.from(JSON.stringify(assignor.describe())),
        }),
      };
    },
  });
}

export class KafkajsGroupConsumer implements GroupConsumer {
  private readonly consumer: Consumer;
  private readonly topic: string;
  /** Set by disconnect(): from then on a crash is the end, not a restart (noRestartOnceStopped). */
  private readonly stopped = { value: false };

  constructor(client: Kafka, options: GroupConsumerOptions) {
    this.topic = options.topic;
    this.consumer = client.consumer({
      groupId: options.groupId,
      readUncommitted: false,
      sessionTimeout: options.sessionTimeoutMs,
      rebalanceTimeout: options.rebalanceTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs,
      maxBytesPerPartition: options.maxBytesPerPartition,
      maxWaitTimeInMs: options.maxWaitTimeMs,
      minBytes: options.minBytes ?? 1,
      // Round robin stays listed so a group of mixed versions can still agree during a
      // rolling upgrade.
      partitionAssigners: [kafkajsAssigner(options.topic, options.assignor), PartitionAssigners.roundRobin],
      retry: { retries: options.retries, restartOnFailure: noRestartOnceStopped(this.stopped) },
    });
  }

  onAssignment(listener: (memberId: string, partitions: number[]) => void): void {
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      listener(payload.memberId, payload.memberAssignment[this.topic] ?? []);
    });
  }

  onCrash(listener: (crash: ConsumerCrash) => void): void {
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      // A crash of a consumer being disconnected (its broker gone too) is how it stopped.
      if (this.stopped.value) return;
      listener({ error: payload.error, restart: payload.restart });
    });
  }

  async run(handler: GroupBatchHandler, concurrency: number): Promise<void> {
    const { consumer } = this;
    // Run again after a crash kafkajs gave up (the processor restarts it), it may meet a
    // disconnect() half way: a consumer stopped is never started again.
    await consumer.connect();
    if (this.stopped.value) return;
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    if (this.stopped.value) return;
    await consumer.run({
      autoCommit: false,
      // The caller resolves offsets once their transaction committed.
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: concurrency,
      eachBatch: ({ batch, resolveOffset, heartbeat, isRunning, isStale, pause }) =>
        handler({
          partition: batch.partition,
          records: batch.messages,
          resolveOffset,
          heartbeat,
          isRunning,
          isStale,
          pause,
        }),
    });
  }

  resume(partition: number): void {
    this.consumer.resume([{ topic: this.topic, partitions: [partition] }]);
  }

  isPaused(partition: number): boolean {
    return this.consumer.paused().some((p) => p.topic === this.topic && p.partitions.includes(partition));
  }

  seek(partition: number, offset: bigint): void {
    this.consumer.seek({ topic: this.topic, partition, offset: offset.toString() });
  }

  async disconnect(): Promise<void> {
    this.stopped.value = true;
    await this.consumer.disconnect();
  }
}
