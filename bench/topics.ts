// The topics a benchmark made under its own prefix, removed when it ends (also when it fails).
import type { Kafka } from '../platform/kafka.js';
import { topicPlan } from '../platform/topics.js';

export async function removeBenchTopics(kafka: Kafka, prefix: string, partitions = 12): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin
    .deleteTopics({ topics: topicPlan({ prefix, partitions }).map((t) => t.name) })
    .catch(() => undefined);
  await admin.disconnect();
}
