// Processor over the fake Kafka port and RocksDB in a temporary directory: the group's
// assignment reaches the task manager and its tasks, what the group fetches is processed
// exactly once, a rebalance closes what it revokes, crashes are logged for what they
// mean, and close() stops the consumer before the tasks and the admin client.
import { describe, expect, it, vi } from 'vitest';
import { SESSION_TIMEOUT } from '../../../processor/config.js';
import { Processor } from '../../../processor/processor.js';
import { FakeKafkaError } from '../../support/fake-kafka/errors.js';
import type { FakeGroupConsumer } from '../../support/fake-kafka/index.js';
import {
  committedKeys,
  ERROR,
  type Published,
  publishStream,
  type Shell,
  shell,
  WARN,
} from '../../support/shell.js';
import { useTempDir } from '../../support/temp-dir.js';

const dir = useTempDir('runstream-processor-');
let dirs = 0;

async function started(): Promise<{
  s: Shell;
  processor: Processor;
  consumer: FakeGroupConsumer;
  published: Published[];
}> {
  const s = shell(dir(`s-${dirs++}`));
  const published = publishStream(s, { runs: 8 });
  const processor = new Processor(s.config, s.kafka, s.logger, s.metrics);
  await processor.start();
  const consumer = s.kafka.groupConsumers[0]!;
  return { s, processor, consumer, published };
}

const committedInput = (s: Shell, partition: number) =>
  s.kafka.cluster.committedOffset(s.config.groupId, s.topics.deliveries, partition);

describe('Processor', () => {
  it('hands the group assignment to its tasks, processes what the group fetches once, and closes what a rebalance revokes', async () => {
    const { s, processor, consumer, published } = await started();
    expect(consumer.options).toMatchObject({ groupId: s.config.groupId, topic: s.topics.deliveries });
    await vi.waitFor(() =>
      expect(processor.readiness()).toEqual({ ready: true, detail: 'owns partitions [0,1]' }),
    );
    for (const p of [0, 1]) {
      const ids = published.filter((d) => d.partition === p).map((d) => d.id);
      await vi.waitFor(() => expect(committedInput(s, p)).toBe(BigInt(ids.length)));
      expect(committedKeys(s, 'dedupe', p)).toEqual(ids);
    }
    consumer.assign([1]);
    await vi.waitFor(() =>
      expect(
        s.kafka.cluster.journal.filter((j) => j.includes(`${s.topics.deliveries}-0 disconnected`)),
      ).toHaveLength(1),
    );
    expect(processor.readiness()).toEqual({ ready: true, detail: 'owns partitions [1]' });
    await processor.close();
  });

  it('logs a refused session timeout with the setting to change, a restart as a warning, a stop as an error', async () => {
    const { s, processor, consumer } = await started();
    consumer.crash(new FakeKafkaError('refused', 'INVALID_SESSION_TIMEOUT', false), true);
    consumer.crash(new FakeKafkaError('lost', undefined, true), true);
    consumer.crash(new FakeKafkaError('gone', undefined, false), false);
    const crashes = s.lines.filter((l) => /session|crashed/.test(l.msg)).map((l) => [l.level, l.msg]);
    expect(crashes).toEqual([
      [ERROR, expect.stringContaining(`the brokers refuse ${SESSION_TIMEOUT.name}=`)],
      [WARN, 'consumer crashed; kafkajs restarts it'],
      [ERROR, 'consumer crashed and will not restart'],
    ]);
    await processor.close();
  });

  it('closes the consumer first, then its tasks, then the admin client', async () => {
    const { s, processor } = await started();
    await vi.waitFor(() => expect(processor.readiness().ready).toBe(true));
    await processor.close();
    const journal = s.kafka.cluster.journal;
    const at = (pattern: RegExp) => journal.findIndex((j) => pattern.test(j));
    const consumer = at(/^group consumer/);
    const producers = journal.flatMap((j, i) => (j.startsWith('transactional producer') ? [i] : []));
    expect(consumer).toBeGreaterThanOrEqual(0);
    expect(producers).toHaveLength(2);
    expect(Math.min(...producers)).toBeGreaterThan(consumer);
    expect(at(/^admin disconnected/)).toBeGreaterThan(Math.max(...producers));
  });
});
