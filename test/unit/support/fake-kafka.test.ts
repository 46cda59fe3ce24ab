// The fake broker keeps Kafka's promises the shell's tests rely on: read_committed
// visibility, epochs that fence, EndTxn settling the open transaction, and each scripted
// fault doing what it says (and nothing more).
import { describe, expect, it } from 'vitest';
import { FakeKafka } from '../../support/fake-kafka/index.js';

/** As platform/kafka-errors.ts reads a fence: Kafka's error name (the fake's errors have no cause chain). */
const isProducerFenced = (error: unknown): boolean =>
  ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'].includes(
    (error as { type?: string } | undefined)?.type ?? '',
  );

const TOPIC = 'log';
const GROUP = 'g';

function setup() {
  const kafka = new FakeKafka();
  kafka.cluster.createTopic(TOPIC, 2);
  kafka.cluster.createTopic('input', 1);
  return kafka;
}

const values = (kafka: FakeKafka, partition = 0) =>
  kafka.cluster
    .partition(TOPIC, partition)
    .committed()
    .map((r) => r.value?.toString());

const record = (value: string, partition = 0) => ({ key: value, value, partition });

describe('fake Kafka', () => {
  it('hides an open transaction from read_committed and the end offset, and shows it once committed', async () => {
    const kafka = setup();
    const producer = kafka.transactionalProducer({ transactionalId: 't' });
    await producer.init();
    const txn = await producer.begin();
    const [ack] = await txn.send([{ topic: TOPIC, records: [record('a'), record('b')] }]);
    expect(ack).toEqual({ topic: TOPIC, partition: 0, baseOffset: 0n });
    await txn.sendOffsets({ groupId: GROUP, topic: 'input', partition: 0, offset: 7n });
    const admin = kafka.admin();
    expect((await admin.partitionOffsets(TOPIC))[0]).toEqual({ partition: 0, low: 0n, high: 0n });
    expect(values(kafka)).toEqual([]);
    expect(kafka.cluster.committedOffset(GROUP, 'input', 0)).toBeUndefined();
    await txn.commit();
    expect(values(kafka)).toEqual(['a', 'b']);
    // Two records and a commit marker.
    expect((await admin.partitionOffsets(TOPIC))[0]).toEqual({ partition: 0, low: 0n, high: 3n });
    expect(kafka.cluster.committedOffset(GROUP, 'input', 0)).toBe(7n);
  });

  it('aborts the open transaction of the previous epoch on init, and fences the older producer', async () => {
    const kafka = setup();
    const old = kafka.transactionalProducer({ transactionalId: 't' });
    await old.init();
    const txn = await old.begin();
    await txn.send([{ topic: TOPIC, records: [record('lost')] }]);
    const next = kafka.transactionalProducer({ transactionalId: 't' });
    await next.init();
    expect(next.epoch).toBe(old.epoch! + 1);
    const error = await txn.commit().catch((e: unknown) => e);
    expect(isProducerFenced(error)).toBe(true);
    expect(values(kafka)).toEqual([]);
    expect(kafka.cluster.coordinator.endTxns.at(-1)).toMatchObject({ result: 'fenced', epoch: old.epoch });
  });

  it('holds a late EndTxn and applies it when told: to the open transaction of its epoch, if any', async () => {
    const kafka = setup();
    const producer = kafka.transactionalProducer({ transactionalId: 't' });
    await producer.init();
    const first = await producer.begin();
    await first.send([{ topic: TOPIC, records: [record('first')] }]);
    kafka.cluster.faults.inject('commit', { kind: 'late' }, { subject: 't' });
    const error = (await first.commit().catch((e: unknown) => e)) as { retriable?: boolean; type?: string };
    expect(error).toMatchObject({ retriable: true, type: undefined });
    expect(kafka.cluster.faults.pendingLate).toBe(1);
    expect(values(kafka)).toEqual([]);
    // The hazard before KIP-890: the same epoch's next transaction takes the delayed commit.
    expect(kafka.cluster.faults.deliverLate()).toEqual({ op: 'commit', applied: true });
    expect(values(kafka)).toEqual(['first']);
  });

  it('rejects a late EndTxn of an epoch a re-initialisation bumped', async () => {
    const kafka = setup();
    const producer = kafka.transactionalProducer({ transactionalId: 't' });
    await producer.init();
    const txn = await producer.begin();
    await txn.send([{ topic: TOPIC, records: [record('x')] }]);
    kafka.cluster.faults.inject('commit', { kind: 'late' });
    await expect(txn.commit()).rejects.toThrow(/timed out/);
    await kafka.transactionalProducer({ transactionalId: 't' }).init();
    const late = kafka.cluster.faults.deliverLate();
    expect(late.applied).toBe(false);
    expect(isProducerFenced(late.applied ? undefined : late.error)).toBe(true);
    expect(values(kafka)).toEqual([]);
  });

  it('scripts a lost request, a coordinator move, a fence and a partial send, each once', async () => {
    const kafka = setup();
    const producer = kafka.transactionalProducer({ transactionalId: 't' });
    kafka.cluster.faults.inject('init', { kind: 'coordinatorMoved' });
    await expect(producer.init()).rejects.toMatchObject({ type: 'NOT_COORDINATOR', retriable: true });
    expect(kafka.cluster.coordinator.epochOf('t')).toBeUndefined();
    await producer.init();
    const txn = await producer.begin();
    kafka.cluster.faults.inject('send', { kind: 'partialSend', topic: TOPIC, partition: 1 });
    const acks = await txn.send([{ topic: TOPIC, records: [record('p0', 0), record('p1', 1)] }]);
    expect(acks.map((a) => a.partition)).toEqual([0]);
    kafka.cluster.faults.inject('sendOffsets', { kind: 'timeout' });
    await expect(
      txn.sendOffsets({ groupId: GROUP, topic: 'input', partition: 0, offset: 1n }),
    ).rejects.toMatchObject({ retriable: true });
    kafka.cluster.faults.inject('commit', { kind: 'fence' });
    expect(isProducerFenced(await txn.commit().catch((e: unknown) => e))).toBe(true);
    expect(values(kafka, 0)).toEqual([]);
    expect(values(kafka, 1)).toEqual([]);
    expect(kafka.cluster.faults.fired.map((f) => f.kind)).toEqual([
      'coordinatorMoved',
      'partialSend',
      'timeout',
      'fence',
    ]);
  });

  it('reads a partition from a seek, past markers and aborted records, and reports positions', async () => {
    const kafka = setup();
    const producer = kafka.transactionalProducer({ transactionalId: 't' });
    await producer.init();
    for (const [value, commit] of [
      ['a', true],
      ['b', false],
      ['c', true],
    ] as const) {
      const txn = await producer.begin();
      await txn.send([{ topic: TOPIC, records: [record(value)] }]);
      await (commit ? txn.commit() : txn.abort());
    }
    const consumer = kafka.partitionConsumer({
      name: 'r',
      partitions: new Map([[TOPIC, [0]]]),
      maxWaitTimeMs: 0,
      retries: 0,
    });
    const read: string[] = [];
    const positions: bigint[] = [];
    consumer.onPosition((_t, _p, next) => positions.push(next));
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run(async ({ records }) => {
      read.push(...records.map((r) => `${r.offset}:${r.value?.toString()}`));
    });
    consumer.seek(TOPIC, 0, 1n);
    consumer.onPosition((_t, _p, next) => {
      if (next === 6n) done();
    });
    await finished;
    await consumer.disconnect();
    // a@0 marker@1 b@2 (aborted) marker@3 c@4 marker@5: from offset 1, only c.
    expect(read).toEqual(['4:c']);
    expect(positions.at(-1)).toBe(6n);
  });
});
