// A role's one long-lived admin client for offsets: end offsets of partitions and
// committed offsets of groups. Every call is retried while the cluster settles (a
// leader or coordinator moving, a broker restarting), up to a deadline, and any other
// error surfaces at once.
import kafkajs from 'kafkajs';
import type { Kafka, KafkaAdmin } from './kafka.js';
import { partitionKey } from './partition-reader.js';

const { AssignerProtocol } = kafkajs;

export interface PartitionEnds {
  /** First retained offset. */
  low: bigint;
  /** End offset: the next offset to be written (read committed: the last stable one). */
  high: bigint;
}

const CONNECTION_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
]);

/** An error worth retrying: anything in its cause chain the client calls retriable. */
export function isTransientKafkaError(error: unknown): boolean {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    const { retriable, name } = e as { retriable?: boolean; name?: string };
    if (retriable === true || CONNECTION_ERRORS.has(name ?? '')) return true;
  }
  return false;
}

export class Offsets {
  private admin: Promise<KafkaAdmin> | undefined;
  /** One call at a time: kafkajs' admin races its metadata refreshes when calls for
   * different topics overlap (a topic's partitions then read as missing). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kafka: Kafka,
    /** How long a call keeps retrying transient errors. */
    private readonly timeoutMs = 60_000,
  ) {}

  private client(): Promise<KafkaAdmin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })().catch((error: unknown) => {
      this.admin = undefined;
      throw error;
    });
    return this.admin;
  }

  private retrying<T>(what: string, work: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    const run = () => this.attempts(what, work);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async attempts<T>(what: string, work: (admin: KafkaAdmin) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await work(await this.client());
      } catch (error) {
        if (!isTransientKafkaError(error) || Date.now() > deadline) {
          throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Low and high offsets of every partition of a topic. */
  ends(topic: string): Promise<Map<number, PartitionEnds>> {
    return this.retrying(`offsets of ${topic}`, async (admin) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]));
    });
  }

  /** The high watermark of every partition of the topics, by partitionKey(topic, partition). */
  async highWatermarks(topics: readonly string[]): Promise<Map<string, bigint>> {
    const out = new Map<string, bigint>();
    for (const topic of topics) {
      for (const [partition, end] of await this.ends(topic))
        out.set(partitionKey(topic, partition), end.high);
    }
    return out;
  }

  /** The group's committed offset per partition of a topic (absent: none committed). */
  committed(groupId: string, topic: string): Promise<Map<number, bigint>> {
    return this.retrying(`committed offsets of ${groupId}`, async (admin) => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const out = new Map<number, bigint>();
      for (const p of offsets?.partitions ?? []) {
        const offset = BigInt(p.offset);
        if (offset >= 0n) out.set(p.partition, offset);
      }
      return out;
    });
  }

  /** The partitions of a topic the group's coordinator assigns to a member now. */
  assignedTo(groupId: string, memberId: string, topic: string): Promise<number[]> {
    return this.retrying(`members of ${groupId}`, async (admin) => {
      const { groups } = await admin.describeGroups([groupId]);
      const member = groups[0]?.members.find((m) => m.memberId === memberId);
      if (!member || member.memberAssignment.length === 0) return [];
      return AssignerProtocol.MemberAssignment.decode(member.memberAssignment)?.assignment[topic] ?? [];
    });
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await (await admin?.catch(() => undefined))?.disconnect().catch(() => undefined);
  }
}
