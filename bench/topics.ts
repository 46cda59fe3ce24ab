// The topics a benchmark made under its own prefix, removed when it ends (also when it fails).
import type { KafkaPort } from '../platform/kafka-port.js';
import { topicPlan } from '../platform/topics.js';

export async function removeBenchTopics(kafka: KafkaPort, prefix: string, partitions = 12): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics(topicPlan({ prefix, partitions }).map((t) => t.name)).catch(() => undefined);
  await admin.disconnect();
}
