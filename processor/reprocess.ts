// `runstream processor --reprocess`: rebuilds all processor state from the deliveries
// topic. With every processor of the group stopped, it tombstones every live key of
// every changelog partition (in a transaction per partition, under that partition's
// transactional id, which also fences any zombie), rewinds the group to the earliest
// retained delivery, and clears the local stores. The processor then starts as usual
// and recomputes everything; exporters follow the tombstones and the new values.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { KafkaPort } from '../platform/kafka-port.js';
import type { Logger } from '../platform/log.js';
import { partitionKey } from '../platform/offsets.js';
import { endOffsets, PartitionReader } from '../platform/partition-reader.js';
import type { TopicNames } from '../platform/topics.js';
import { CHANGELOG_KINDS, changelogTopic } from '../schemas/changelog.js';
import { transactionalIdFor } from './transactions.js';

export interface ReprocessOptions {
  kafka: KafkaPort;
  topics: TopicNames;
  groupId: string;
  stateDir: string;
  logger: Logger;
}

export interface ReprocessSummary {
  partitions: number;
  tombstones: number;
}

export class GroupNotEmptyError extends Error {
  constructor(groupId: string, members: number) {
    super(
      `consumer group ${groupId} has ${members} active member(s): stop every processor of the group before --reprocess`,
    );
    this.name = 'GroupNotEmptyError';
  }
}

export async function resetProcessorState(options: ReprocessOptions): Promise<ReprocessSummary> {
  const { kafka, topics, groupId, logger } = options;
  const admin = kafka.admin();
  await admin.connect();
  let summary: ReprocessSummary = { partitions: 0, tombstones: 0 };
  try {
    const members = (await admin.describeGroup(groupId)).members.length;
    if (members > 0) throw new GroupNotEmptyError(groupId, members);

    const changelogs = CHANGELOG_KINDS.map((kind) => changelogTopic(topics, kind));
    const ends = await endOffsets(kafka, changelogs);
    // The latest value per key of every changelog partition: which keys are live.
    const live = new Map<string, Map<string, boolean>>();
    const reader = new PartitionReader(kafka, logger, `${groupId}-reprocess-`);
    try {
      await reader.start(
        [...ends.keys()].map((key) => {
          const [topic, partition] = key.split('\u0000') as [string, string];
          return { topic, partition: Number(partition), from: 'earliest' as const };
        }),
        (topic, partition, messages) => {
          const id = partitionKey(topic, partition);
          const keys = live.get(id) ?? new Map<string, boolean>();
          live.set(id, keys);
          for (const m of messages) if (m.key) keys.set(m.key.toString(), m.value !== null);
        },
      );
      await reader.waitForPositions(ends, 10 * 60_000);
    } finally {
      await reader.stop();
    }

    const partitions = (await admin.topicMetadata([topics.deliveries]))[0]?.partitions ?? [];
    for (const { partition } of partitions) {
      const producer = kafka.transactionalProducer({
        transactionalId: transactionalIdFor(groupId, topics.deliveries, partition),
      });
      await producer.init();
      try {
        const topicMessages = changelogs.map((topic) => ({
          topic,
          records: [...(live.get(partitionKey(topic, partition)) ?? new Map<string, boolean>())]
            .filter(([, isLive]) => isLive)
            .map(([key]) => ({ key, value: null, partition })),
        }));
        const count = topicMessages.reduce((n, t) => n + t.records.length, 0);
        const transaction = await producer.begin();
        try {
          // Chunked: one record batch per partition must stay under the broker's size limit.
          for (const { topic, records } of topicMessages) {
            for (let i = 0; i < records.length; i += 5000) {
              await transaction.send([{ topic, records: records.slice(i, i + 5000) }]);
            }
          }
          await transaction.commit();
        } catch (error) {
          await transaction.abort().catch(() => undefined);
          throw error;
        }
        summary = { partitions: summary.partitions + 1, tombstones: summary.tombstones + count };
      } finally {
        await producer.disconnect();
      }
    }
    await admin.resetOffsetsToEarliest(groupId, topics.deliveries);
    await rm(join(options.stateDir, groupId), { recursive: true, force: true });
    logger.info(
      { groupId, ...summary },
      'processor state reset; reprocessing from the earliest retained delivery',
    );
    return summary;
  } finally {
    await admin.disconnect();
  }
}
