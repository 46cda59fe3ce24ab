// The Kafka side of `runstream topics create`: idempotent creation from a plan.
import type { Kafka } from './kafka.js';
import type { Logger } from './log.js';
import { reconcileTopics, type TopicAction, type TopicSpec } from './topics.js';

export async function ensureTopics(
  kafka: Kafka,
  plan: TopicSpec[],
  replicationFactor: number,
  logger: Logger,
): Promise<TopicAction[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const names = new Set(await admin.listTopics());
    const present = plan.filter((s) => names.has(s.name)).map((s) => s.name);
    const metadata =
      present.length > 0 ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    const actions = reconcileTopics(
      plan,
      metadata.topics.map((t) => ({ name: t.name, partitions: t.partitions.length })),
    );
    const toCreate = actions.filter((a) => a.kind === 'create').map((a) => a.spec);
    if (toCreate.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: toCreate.map((spec) => ({
          topic: spec.name,
          numPartitions: spec.partitions,
          replicationFactor,
          configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    for (const action of actions) {
      logger.info(
        { topic: action.spec.name, partitions: action.spec.partitions },
        `topic ${action.kind === 'create' ? 'created' : 'exists'}`,
      );
    }
    return actions;
  } finally {
    await admin.disconnect();
  }
}
