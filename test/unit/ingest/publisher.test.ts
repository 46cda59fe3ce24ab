// The publisher against a producer whose answers the test hands out: what times out
// while queued is never sent, a full queue refuses at once, every delivery learns its
// position, and a partition missing from Kafka's answer is sent again. (The real
// broker path, including an outage, is in test/integration/ingest.test.ts.)
import { describe, expect, it } from 'vitest';
import {
  DeliveryPublisher,
  PublishIncompleteError,
  PublishQueueFullError,
  PublishTimeoutError,
} from '../../../ingest/publisher.js';
import type { KafkaPort, OutgoingRecord, PartitionAck, TopicRecords } from '../../../platform/kafka-port.js';
import type { Delivery } from '../../../schemas/delivery.js';
import { partitionForKey } from '../../../schemas/delivery.js';
import { testLogger } from '../../support/kafka.js';

function delivery(id: string, bodyBytes = 100, key = '1'): { key: string; delivery: Delivery } {
  return {
    key,
    delivery: {
      id,
      event: 'workflow_job',
      action: 'queued',
      hookId: null,
      installationTargetType: null,
      installationTargetId: null,
      receivedAt: 0,
      source: 'webhook',
      runId: 1,
      body: Buffer.alloc(bodyBytes, 0x20),
      observation: null,
    },
  };
}

const PARTITIONS = 6;

/** One send of the publisher: its one topic's records. */
interface SentRecords {
  topic: string;
  messages: readonly OutgoingRecord[];
}

/** What a broker answers for a send: every targeted partition, from offset 100. */
function answerAll(record: SentRecords): PartitionAck[] {
  const partitions = [...new Set(record.messages.map((m) => m.partition))];
  return partitions.map((partition) => ({ topic: record.topic, partition, baseOffset: 100n }));
}

/** Producers whose sends stay unanswered until the test answers them. */
function stalledKafka() {
  const sends: Array<{
    ids: string[];
    record: SentRecords;
    /** Which producer (in creation order) sent it. */
    producer: number;
    answer: (acks: PartitionAck[]) => void;
    fail: (error: Error) => void;
    ack: () => void;
  }> = [];
  let producers = 0;
  const producer = () => {
    const id = ++producers;
    return {
      onDisconnect: () => undefined,
      connect: async () => undefined,
      disconnect: async () => undefined,
      send: (topics: readonly TopicRecords[]) =>
        new Promise<PartitionAck[]>((resolve, reject) => {
          expect(topics).toHaveLength(1);
          const record = { topic: topics[0]!.topic, messages: topics[0]!.records };
          sends.push({
            ids: record.messages.map((m) => String(m.headers?.['delivery-id'])),
            record,
            producer: id,
            answer: resolve,
            fail: reject,
            ack: () => resolve(answerAll(record)),
          });
        }),
    };
  };
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    topicMetadata: async (topics: readonly string[]) =>
      topics.map((name) => ({
        name,
        partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition })),
      })),
  };
  // Only recordProducer() and admin() are used by the publisher.
  const kafka = { recordProducer: producer, admin: () => admin } as unknown as KafkaPort;
  return { kafka, sends };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe('DeliveryPublisher', () => {
  it('withdraws a delivery that timed out while queued, so it is never sent', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger, sendTimeoutMs: 100 });
    const inFlight = publisher.publish([delivery('in-flight')]);
    await new Promise((r) => setTimeout(r, 10));
    const queued = publisher.publish([delivery('queued')]);
    await expect(inFlight).rejects.toBeInstanceOf(PublishTimeoutError);
    await expect(queued).rejects.toBeInstanceOf(PublishTimeoutError);

    sends[0]!.ack(); // the cluster answers late; the queue moves on
    const later = publisher.publish([delivery('later')]);
    await new Promise((r) => setTimeout(r, 10));
    sends[1]!.ack();
    await later;
    expect(sends.map((s) => s.ids)).toEqual([['in-flight'], ['later']]);
  });

  it('coalesces what queued behind a send into the next send', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger });
    const first = publisher.publish([delivery('a')]);
    await new Promise((r) => setTimeout(r, 10));
    const rest = [publisher.publish([delivery('b')]), publisher.publish([delivery('c')])];
    sends[0]!.ack();
    await first;
    await new Promise((r) => setTimeout(r, 10));
    sends[1]!.ack();
    await Promise.all(rest);
    expect(sends.map((s) => s.ids)).toEqual([['a'], ['b', 'c']]);
  });

  it('refuses at once when the queue is full, and accepts again once it drains', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({
      kafka,
      topic: 't',
      logger: testLogger,
      maxQueuedBytes: 5000,
    });
    const inFlight = publisher.publish([delivery('in-flight', 3000)]);
    await new Promise((r) => setTimeout(r, 10));
    const queued = publisher.publish([delivery('queued', 3000)]);
    const started = Date.now();
    await expect(publisher.publish([delivery('refused', 3000)])).rejects.toBeInstanceOf(
      PublishQueueFullError,
    );
    expect(Date.now() - started).toBeLessThan(50);

    sends[0]!.ack();
    await inFlight;
    await new Promise((r) => setTimeout(r, 10));
    sends[1]!.ack();
    await queued;
    const accepted = publisher.publish([delivery('accepted', 3000)]);
    await new Promise((r) => setTimeout(r, 10));
    sends[2]!.ack();
    await accepted;
    expect(sends.map((s) => s.ids)).toEqual([['in-flight'], ['queued'], ['accepted']]);
  });

  it('tells each delivery its partition and offset', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger });
    const keys = ['11', '12', '11', '13'];
    const published = publisher.publish(keys.map((key, i) => delivery(`d${i}`, 10, key)));
    await tick();
    sends[0]!.ack();
    const positions = await published;
    const p11 = partitionForKey('11', PARTITIONS);
    expect(sends[0]!.record.messages.map((m) => m.partition)).toEqual(
      keys.map((k) => partitionForKey(k, PARTITIONS)),
    );
    expect(positions[0]).toEqual({ partition: p11, offset: '100' });
    expect(positions[2]).toEqual({ partition: p11, offset: '101' });
    expect(positions[1]!.partition).toBe(partitionForKey('12', PARTITIONS));
  });

  it('sends again the records of a partition the answer lacks, and fails after repeated gaps', async () => {
    // Keys on two different partitions.
    const keys = ['1', '2', '3', '4', '5'];
    const [a, b] = [
      keys[0]!,
      keys.find((k) => partitionForKey(k, PARTITIONS) !== partitionForKey(keys[0]!, PARTITIONS))!,
    ];
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger });
    const published = publisher.publish([delivery('x', 10, a), delivery('y', 10, b)]);
    await tick();
    // Kafka answers for the first partition only (the kafkajs leader-move gap).
    sends[0]!.answer(
      answerAll(sends[0]!.record).filter((m) => m.partition === partitionForKey(a, PARTITIONS)),
    );
    await tick();
    expect(sends[1]!.ids).toEqual(['y']);
    sends[1]!.ack();
    expect(await published).toEqual([
      { partition: partitionForKey(a, PARTITIONS), offset: '100' },
      { partition: partitionForKey(b, PARTITIONS), offset: '100' },
    ]);

    const failing = publisher.publish([delivery('z', 10, b)]);
    for (let round = 2; round < 2 + 5; round++) {
      await tick();
      sends[round]!.answer([]);
    }
    await expect(failing).rejects.toBeInstanceOf(PublishIncompleteError);
  });

  it('fails exactly the deliveries a failed send carried: those queued behind it are sent next and acknowledged', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger });
    const outcomes: Record<string, string> = {};
    const track = (id: string) =>
      publisher.publish([delivery(id)]).then(
        ([position]) => {
          outcomes[id] = `acked at ${position!.partition}/${position!.offset}`;
        },
        (error: Error) => {
          outcomes[id] = `failed: ${error.message}`;
        },
      );
    const a = track('a');
    await tick();
    const queued = [track('b'), track('c')];
    await tick();
    sends[0]!.ack();
    await a;
    await tick();
    const d = track('d');
    await tick();
    sends[1]!.fail(new Error('NOT_ENOUGH_REPLICAS'));
    await Promise.all(queued);
    await tick();
    sends[2]!.ack();
    await d;
    expect(sends.map((s) => s.ids)).toEqual([['a'], ['b', 'c'], ['d']]);
    const acked = `acked at ${sends[0]!.record.messages[0]!.partition}/100`;
    expect(outcomes).toEqual({
      a: acked,
      b: 'failed: NOT_ENOUGH_REPLICAS',
      c: 'failed: NOT_ENOUGH_REPLICAS',
      d: acked,
    });
  });

  it('replaces its producer after a failed send, so no sequence number is reused', async () => {
    const { kafka, sends } = stalledKafka();
    const publisher = new DeliveryPublisher({ kafka, topic: 't', logger: testLogger });
    const failing = publisher.publish([delivery('a')]);
    await tick();
    sends[0]!.fail(new Error('This server is not the leader for that topic-partition'));
    await expect(failing).rejects.toThrow(/not the leader/);
    const next = publisher.publish([delivery('b')]);
    await tick();
    sends[1]!.ack();
    await next;
    expect(sends.map((s) => s.producer)).toEqual([1, 2]);
  });
});
