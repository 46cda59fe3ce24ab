// What the fault scripts ask the cluster: are all replicas back in sync (an operator
// waits for that between two broker restarts), and which broker coordinates a group
// or a transactional id (Kafka places both by the Java hash of the id).
import type { KafkaAdminPort, KafkaPort } from '../../platform/kafka-port.js';
import type { NodeId } from '../support/cluster.js';

/** Java's String.hashCode, as Kafka uses it to place coordinators. */
export function javaHashCode(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0;
  return hash;
}

/** Kafka's Utils.abs (Integer.MIN_VALUE maps to 0) modulo the partition count. */
export function coordinatorPartition(id: string, partitions: number): number {
  const hash = javaHashCode(id);
  return (hash === -2147483648 ? 0 : Math.abs(hash)) % partitions;
}

/**
 * A read with an admin client of its own, tried three times: around a fault the suite's
 * client can fail on a broker it lost (kafkajs' "Broker not connected" for a request
 * racing a connection's teardown is not retried by kafkajs itself).
 */
async function withAdmin<T>(kafka: KafkaPort, work: (admin: KafkaAdminPort) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const admin = kafka.admin();
    try {
      await admin.connect();
      return await work(admin);
    } catch (error) {
      if (attempt === 3) throw error;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Until every replica of the given topics (and of Kafka's internal ones) is in sync. */
export async function waitForFullIsr(kafka: KafkaPort, topics: string[], timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let detail = '';
  while (Date.now() < deadline) {
    try {
      detail = await withAdmin(kafka, async (admin) => {
        // Kafka's internal topics exist once a group or a transaction first needed them.
        const existing = new Set(await admin.listTopics());
        const internal = ['__consumer_offsets', '__transaction_state'].filter((t) => existing.has(t));
        const metadata = await admin.topicMetadata([...topics, ...internal]);
        const short = metadata.flatMap((t) =>
          t.partitions.filter((p) => p.isr.length < p.replicas.length).map((p) => `${t.name}/${p.partition}`),
        );
        return short.length === 0
          ? ''
          : `${short.length} under-replicated, e.g. ${short.slice(0, 3).join(' ')}`;
      });
      if (detail === '') return;
    } catch (error) {
      detail = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`replicas not back in sync within ${timeoutMs} ms: ${detail}`);
}

async function leaderOf(kafka: KafkaPort, topic: string, partition: number): Promise<NodeId> {
  return withAdmin(kafka, async (admin) => {
    const topics = await admin.topicMetadata([topic]);
    const leader = topics[0]?.partitions.find((p) => p.partition === partition)?.leader;
    if (leader !== 1 && leader !== 2 && leader !== 3) throw new Error(`${topic}/${partition} has no leader`);
    return leader;
  });
}

async function partitionCount(kafka: KafkaPort, topic: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const topics = await admin.topicMetadata([topic]);
    return topics[0]?.partitions.length ?? 0;
  });
}

/** The broker that coordinates the consumer group now. */
export async function groupCoordinator(kafka: KafkaPort, groupId: string): Promise<NodeId> {
  const partitions = await partitionCount(kafka, '__consumer_offsets');
  return leaderOf(kafka, '__consumer_offsets', coordinatorPartition(groupId, partitions));
}

/**
 * The broker that coordinates the most of the given transactional ids now; with `avoid`,
 * the busiest other one, if any other coordinates some.
 */
export async function busiestTransactionCoordinator(
  kafka: KafkaPort,
  transactionalIds: string[],
  avoid?: NodeId,
): Promise<NodeId> {
  const partitions = await partitionCount(kafka, '__transaction_state');
  const counts = new Map<NodeId, number>();
  for (const id of transactionalIds) {
    const node = await leaderOf(kafka, '__transaction_state', coordinatorPartition(id, partitions));
    counts.set(node, (counts.get(node) ?? 0) + 1);
  }
  const ranked = [...counts].sort((a, b) => b[1] - a[1]).map(([node]) => node);
  return ranked.find((node) => node !== avoid) ?? ranked[0]!;
}
