// The partition reader (restores, the exporter's view) reads exactly the partitions and
// offsets it is given without joining any consumer group: a group per reader made every
// restore wait the broker's group.initial.rebalance.delay.ms (3 s by default) before its
// first fetch. Fails without the static assignment of patches/kafkajs+2.2.4.patch.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KafkaPort } from '../../platform/kafka-port.js';
import { partitionKey } from '../../platform/offsets.js';
import { PartitionReader } from '../../platform/partition-reader.js';
import { brokers, createTestTopics, type TestTopics, testKafka, testLogger } from '../support/kafka.js';
import { plumbingKafka } from '../support/kafkajs.js';

describe('partition reader', () => {
  let kafka: KafkaPort;
  let topics: TestTopics;

  beforeAll(async () => {
    kafka = testKafka('partition-reader-test');
    topics = await createTestTopics(3);
    const producer = kafka.recordProducer();
    await producer.connect();
    for (const partition of [0, 1, 2]) {
      await producer.send([
        {
          topic: topics.names.deliveries,
          records: Array.from({ length: 10 }, (_, i) => ({
            key: null,
            partition,
            value: `p${partition}-${i}`,
          })),
        },
      ]);
    }
    await producer.disconnect();
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics([topics.names.deliveries]).catch(() => undefined);
    await admin.disconnect();
  });

  it('reads only the partitions asked for, from the offsets asked for, and joins no group', async () => {
    const prefix = `reader-test-${randomUUID().slice(0, 8)}-`;
    const topic = topics.names.deliveries;
    const reader = new PartitionReader(kafka, testLogger, prefix);
    const seen: string[] = [];
    try {
      await reader.start(
        [
          { topic, partition: 1, from: 4n },
          { topic, partition: 2, from: 'earliest' },
        ],
        (_topic, partition, messages) => {
          for (const m of messages) seen.push(`${partition}@${m.offset}:${m.value?.toString()}`);
        },
      );
      await reader.waitForPositions(
        new Map([
          [partitionKey(topic, 1), 10n],
          [partitionKey(topic, 2), 10n],
        ]),
        30_000,
      );
    } finally {
      await reader.stop();
    }
    // Partitions arrive in any order; within one, in offset order (single-digit offsets sort as text).
    expect([...seen].sort()).toEqual([
      ...Array.from({ length: 6 }, (_, i) => `1@${i + 4}:p1-${i + 4}`),
      ...Array.from({ length: 10 }, (_, i) => `2@${i}:p2-${i}`),
    ]);
    // Listing groups is broker plumbing the port does not offer.
    const admin = plumbingKafka({ brokers: brokers(), clientId: 'partition-reader-test' }).admin();
    await admin.connect();
    try {
      const { groups } = await admin.listGroups();
      expect(groups.map((g) => g.groupId).filter((id) => id.startsWith(prefix))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
