// The Kafka side of `runstream topics verify`: what the planned topics are on the
// cluster (partitions, replicas, the effective value of each verified setting).
import kafkajs from 'kafkajs';
import type { KafkaAdmin } from './kafka.js';
import { type ActualTopic, VERIFIED_SETTINGS } from './topics-verify.js';

const { ConfigResourceTypes } = kafkajs;

/** The named topics that exist, by name; a topic this client may not describe reads as absent. */
export async function inspectTopics(
  admin: KafkaAdmin,
  names: readonly string[],
): Promise<Map<string, ActualTopic>> {
  const listed = new Set(await admin.listTopics());
  const present = names.filter((n) => listed.has(n));
  const found = new Map<string, ActualTopic>();
  if (present.length === 0) return found;
  const { topics } = await admin.fetchTopicMetadata({ topics: present });
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((name) => ({
      type: ConfigResourceTypes.TOPIC,
      name,
      configNames: [...VERIFIED_SETTINGS],
    })),
  });
  for (const t of topics) {
    const resource = resources.find((r) => r.resourceName === t.name);
    found.set(t.name, {
      name: t.name,
      partitions: t.partitions.length,
      replicas: Math.min(...t.partitions.map((p) => p.replicas.length)),
      config: new Map(resource?.configEntries.map((e) => [e.configName, e.configValue]) ?? []),
    });
  }
  return found;
}
