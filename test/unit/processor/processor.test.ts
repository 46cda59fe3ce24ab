// Processor over the fake Kafka port and RocksDB in a temporary directory: the group's
// assignment reaches the task manager and its tasks, what the group fetches is processed
// exactly once, a rebalance closes what it revokes, crashes are logged for what they
// mean, and close() stops the consumer before the tasks and the admin client.
import { describe, expect, it, vi } from 'vitest';
import { SESSION_TIMEOUT } from '../../../processor/config.js';
import { consumerRestartDelayMs, Processor } from '../../../processor/processor.js';
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

  it('logs a refused session timeout with the setting to change, a restart by kafkajs as a warning, a crash kafkajs gives up as an error saying the processor restarts it', async () => {
    const { s, processor, consumer } = await started();
    consumer.crash(new FakeKafkaError('refused', 'INVALID_SESSION_TIMEOUT', false), true);
    consumer.crash(new FakeKafkaError('lost', undefined, true), true);
    consumer.crash(new FakeKafkaError('gone', undefined, false), false);
    const crashes = s.lines.filter((l) => /session|crashed/.test(l.msg)).map((l) => [l.level, l.msg]);
    expect(crashes).toEqual([
      [
        ERROR,
        expect.stringMatching(
          new RegExp(`^the brokers refuse ${SESSION_TIMEOUT.name}=.*; kafkajs restarts it$`),
        ),
      ],
      [WARN, 'consumer crashed; kafkajs restarts it'],
      [
        ERROR,
        'consumer crashed on an error kafkajs does not restart on; restarting the consumer in 1000 ms (attempt 1): it rejoins the group and resumes from the committed offsets',
      ],
    ]);
    await processor.close();
  });

  it('restarts a consumer kafkajs gave up: not ready until it joined again, then it processes what arrives, exactly once', async () => {
    const { s, processor, consumer, published } = await started();
    await vi.waitFor(() => expect(processor.readiness().ready).toBe(true));
    const before = consumer.memberId;
    consumer.crash(new FakeKafkaError('Failed to find group coordinator', undefined, false), false);
    expect(processor.readiness()).toEqual({
      ready: false,
      detail: expect.stringMatching(/^consumer crashed \d+s ago; restarting it \(attempt 1\)$/),
    });
    const more = publishStream(s, { seed: 2, runs: 4 });
    await vi.waitFor(() => expect(consumer.memberId).not.toBe(before), { timeout: 5_000 });
    expect(s.lines.filter((l) => l.msg.startsWith('restarting the consumer')).map((l) => l.level)).toEqual([
      30,
    ]);
    await vi.waitFor(() => expect(processor.readiness().ready).toBe(true));
    for (const p of [0, 1]) {
      const ids = [...published, ...more].filter((d) => d.partition === p).map((d) => d.id);
      await vi.waitFor(() => expect(committedInput(s, p)).toBe(BigInt(ids.length)));
      expect(committedKeys(s, 'dedupe', p)).toEqual(ids);
    }
    await processor.close();
  });

  it('backs off between restarts of a consumer kafkajs gave up: 1 s, doubling, at most 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(consumerRestartDelayMs)).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });

  it('never restarts a consumer once closing', async () => {
    const { s, processor, consumer } = await started();
    await processor.close();
    consumer.crash(new FakeKafkaError('gone', undefined, false), false);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(s.lines.filter((l) => l.msg.startsWith('restarting the consumer'))).toEqual([]);
    expect(s.lines.filter((l) => /crashed/.test(l.msg)).map((l) => l.msg)).toEqual([
      'consumer crashed on an error kafkajs does not restart on; the processor is stopping',
    ]);
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
