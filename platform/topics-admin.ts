// The Kafka side of `runstream topics create`: idempotent creation from a plan.
import type { KafkaAdminPort, KafkaPort } from './kafka-port.js';
import type { Logger } from './log.js';
import { isTransientKafkaError, Offsets } from './offsets.js';
import {
  configDifferences,
  describeDifferences,
  reconcileTopics,
  type TopicAction,
  type TopicSpec,
} from './topics.js';

/**
 * Polls until every partition of the plan has a leader that answers for it (metadata
 * names a leader a moment before the leader serves offsets); a new topic takes a moment.
 */
async function waitForLeaders(
  kafka: KafkaPort,
  admin: KafkaAdminPort,
  plan: TopicSpec[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no metadata yet';
  for (;;) {
    try {
      const topics = await admin.topicMetadata(plan.map((s) => s.name));
      const leaderless = topics.flatMap((t) =>
        t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}/${p.partition}`),
      );
      if (leaderless.length === 0) {
        const offsets = new Offsets(kafka, Math.max(0, deadline - Date.now()));
        try {
          await offsets.highWatermarks(plan.map((s) => s.name));
        } finally {
          await offsets.close();
        }
        return;
      }
      last = `no leader yet for ${leaderless.slice(0, 3).join(', ')}`;
    } catch (error) {
      if (!isTransientKafkaError(error)) throw error;
      last = (error as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`topics have no partition leaders after ${timeoutMs} ms: ${last}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Fills in what existing topics have of the planned settings, to report the differences. */
async function compareExistingConfigs(admin: KafkaAdminPort, actions: TopicAction[]): Promise<void> {
  const existing = actions.filter((a) => a.kind === 'exists');
  if (existing.length === 0) return;
  const configs = await admin.topicConfigs(
    existing.map((a) => ({ name: a.spec.name, configNames: Object.keys(a.spec.config) })),
  );
  for (const action of existing) {
    const actual = configs.get(action.spec.name) ?? new Map<string, string>();
    action.differences = configDifferences(action.spec.config, actual);
  }
}

export async function ensureTopics(
  kafka: KafkaPort,
  plan: TopicSpec[],
  replicationFactor: number,
  logger: Logger,
  leaderTimeoutMs = 60_000,
): Promise<TopicAction[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const names = new Set(await admin.listTopics());
    const present = plan.filter((s) => names.has(s.name)).map((s) => s.name);
    const metadata = present.length > 0 ? await admin.topicMetadata(present) : [];
    const actions = reconcileTopics(
      plan,
      metadata.map((t) => ({ name: t.name, partitions: t.partitions.length })),
    );
    const toCreate = actions.filter((a) => a.kind === 'create').map((a) => a.spec);
    if (toCreate.length > 0) {
      // Without waiting for leaders (the client's own wait fails while metadata settles).
      await admin.createTopics(
        toCreate.map((spec) => ({
          name: spec.name,
          partitions: spec.partitions,
          replicationFactor,
          config: spec.config,
        })),
      );
    }
    await waitForLeaders(kafka, admin, plan, leaderTimeoutMs);
    await compareExistingConfigs(admin, actions);
    for (const action of actions) {
      const fields = { topic: action.spec.name, partitions: action.spec.partitions };
      if (action.kind === 'create') logger.info(fields, 'topic created');
      else if (action.differences.length === 0) logger.info(fields, 'topic exists');
      else {
        logger.warn(
          { ...fields, differences: action.differences },
          `topic exists with other settings, left as they are: ${describeDifferences(action.differences)}`,
        );
      }
    }
    return actions;
  } finally {
    await admin.disconnect();
  }
}
