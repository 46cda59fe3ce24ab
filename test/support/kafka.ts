// Broker access for integration tests: a unique topic prefix per test, topic creation
// through the product's own code, and reading a topic back to its end.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createKafka } from '../../platform/kafka/index.js';
import type { ConsumedRecord, KafkaPort } from '../../platform/kafka-port.js';
import { createLogger, type Logger } from '../../platform/log.js';
import { partitionKey } from '../../platform/offsets.js';
import { endOffsets, PartitionReader } from '../../platform/partition-reader.js';
import { type TopicNames, topicNames, topicPlan } from '../../platform/topics.js';
import { ensureTopics } from '../../platform/topics-admin.js';

export const testLogger: Logger = createLogger('test', process.env.RUNSTREAM_TEST_LOG_LEVEL ?? 'silent');

export function brokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

export function testKafka(clientId = 'runstream-test'): KafkaPort {
  return createKafka({ brokers: brokers(), clientId, logger: testLogger });
}

export interface TestTopics {
  prefix: string;
  names: TopicNames;
  partitions: number;
}

export async function createTestTopics(partitions = 3): Promise<TestTopics> {
  const prefix = `t${randomUUID().slice(0, 8)}.`;
  await ensureTopics(testKafka(), topicPlan({ prefix, partitions }), 1, testLogger);
  return { prefix, names: topicNames(prefix), partitions };
}

export interface ReadRecord {
  partition: number;
  message: ConsumedRecord;
}

/** Every committed record of a topic up to its end offsets at the time of the call. */
export async function readTopic(
  topic: string,
  timeoutMs = 30_000,
  kafka: KafkaPort = testKafka(),
): Promise<ReadRecord[]> {
  const ends = await endOffsets(kafka, [topic]);
  const records: ReadRecord[] = [];
  const reader = new PartitionReader(kafka, testLogger, 'test-');
  try {
    const partitions = [...ends.keys()].map((key) => Number(key.split('\u0000')[1]));
    await reader.start(
      partitions.map((partition) => ({ topic, partition, from: 'earliest' as const })),
      (_topic, partition, messages) => {
        for (const message of messages) records.push({ partition, message });
      },
    );
    await reader.waitForPositions(ends, timeoutMs);
  } finally {
    await reader.stop();
  }
  return records.sort(
    (a, b) => a.partition - b.partition || Number(BigInt(a.message.offset) - BigInt(b.message.offset)),
  );
}

export { partitionKey };
