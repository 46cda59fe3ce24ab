// The Kafka side of `runstream topics verify`: what the planned topics are on the
// cluster (partitions, replicas, the effective value of each verified setting).
import type { KafkaAdminPort } from './kafka-port.js';
import { type ActualTopic, VERIFIED_SETTINGS } from './topics-verify.js';

/** The named topics that exist, by name; a topic this client may not describe reads as absent. */
export async function inspectTopics(
  admin: KafkaAdminPort,
  names: readonly string[],
): Promise<Map<string, ActualTopic>> {
  const listed = new Set(await admin.listTopics());
  const present = names.filter((n) => listed.has(n));
  const found = new Map<string, ActualTopic>();
  if (present.length === 0) return found;
  const topics = await admin.topicMetadata(present);
  const configs = await admin.topicConfigs(
    present.map((name) => ({ name, configNames: [...VERIFIED_SETTINGS] })),
  );
  for (const t of topics) {
    found.set(t.name, {
      name: t.name,
      partitions: t.partitions.length,
      replicas: Math.min(...t.partitions.map((p) => p.replicas.length)),
      config: configs.get(t.name) ?? new Map<string, string>(),
    });
  }
  return found;
}
