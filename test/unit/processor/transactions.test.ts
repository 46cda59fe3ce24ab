// The partition producer over a scripted transactional producer of the Kafka port:
// what it returns when a transaction commits, and the typed error it throws otherwise,
// saying whether the transaction certainly did not commit. A failed producer is spent.
import { describe, expect, it } from 'vitest';
import { markingUncertain } from '../../../platform/kafka/producers.js';
import type {
  KafkaPort,
  PartitionAck,
  TopicRecords,
  TransactionalProducer,
} from '../../../platform/kafka-port.js';
import {
  PartitionProducer,
  ProducerFencedError,
  TransactionFailedError,
  transactionalIdFor,
} from '../../../processor/transactions.js';
import { kafkajsTimeout } from '../../support/kafkajs.js';

interface Script {
  send?: (sends: readonly TopicRecords[]) => PartitionAck[];
  sendOffsets?: () => void | Promise<void>;
  commit?: () => void | Promise<void>;
}

function scriptedKafka(script: Script) {
  const calls: string[] = [];
  const transaction = {
    send: async (sends: readonly TopicRecords[]) => {
      calls.push('send');
      return script.send
        ? script.send(sends)
        : sends.map((t) => ({ topic: t.topic, partition: 3, baseOffset: 10n }));
    },
    sendOffsets: async () => {
      calls.push('sendOffsets');
      await script.sendOffsets?.();
    },
    commit: async () => {
      calls.push('commit');
      await script.commit?.();
    },
    abort: async () => {
      calls.push('abort');
    },
  };
  const producer: TransactionalProducer = {
    transactionalId: 'tx',
    init: async () => {
      calls.push('init');
    },
    begin: async () => transaction,
    disconnect: async () => undefined,
  };
  // Only the transactional producer is used by the partition producer.
  return { kafka: { transactionalProducer: () => producer } as unknown as KafkaPort, calls };
}

const batch = new Map([
  [
    'runs',
    [
      { key: 'a', value: Buffer.from('1') },
      { key: 'b', value: null },
    ],
  ],
  ['jobs', [{ key: 'c', value: Buffer.from('2') }]],
]);
const input = { groupId: 'g', topic: 'deliveries', partition: 3, offset: 99n };

function fenced(): Error {
  return Object.assign(new Error('fenced'), { type: 'INVALID_PRODUCER_EPOCH' });
}

describe('PartitionProducer', () => {
  it('names the transactional id after the group, the input topic and the partition', () => {
    expect(transactionalIdFor('runstream.processor', 'runstream.deliveries', 7)).toBe(
      'runstream.processor-runstream.deliveries-7',
    );
  });

  it('commits the records and the input offset, and returns each changelog next offset', async () => {
    const { kafka, calls } = scriptedKafka({});
    const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
    await producer.init();
    const next = await producer.commit(batch, input);
    expect(next).toEqual(
      new Map([
        ['runs', 12n],
        ['jobs', 11n],
      ]),
    );
    expect(calls).toEqual(['init', 'send', 'sendOffsets', 'commit']);
  });

  it('aborts, and never commits, when Kafka did not acknowledge a changelog partition', async () => {
    const { kafka, calls } = scriptedKafka({
      send: (sends) => [{ topic: sends[0]!.topic, partition: 3, baseOffset: 10n }],
    });
    const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
    await producer.init();
    const error = await producer.commit(batch, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionFailedError);
    expect((error as TransactionFailedError).outcome).toBe('aborted');
    expect(calls).toEqual(['init', 'send', 'abort']);
    await expect(producer.commit(batch, input)).rejects.toThrow(/spent/);
  });

  it('reports an unknown outcome when the commit request fails', async () => {
    const { kafka } = scriptedKafka({
      commit: () => {
        throw new Error('Connection closed');
      },
    });
    const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
    await producer.init();
    const error = await producer.commit(batch, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionFailedError);
    expect((error as TransactionFailedError).outcome).toBe('unknown');
  });

  it('reports a fenced producer as such, wherever the fence is noticed', async () => {
    for (const script of [
      {
        sendOffsets: () => {
          throw fenced();
        },
      },
      {
        commit: () => {
          throw fenced();
        },
      },
    ] as Script[]) {
      const { kafka } = scriptedKafka(script);
      const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
      await producer.init();
      await expect(producer.commit(batch, input)).rejects.toBeInstanceOf(ProducerFencedError);
    }
  });

  it('writes a transaction past the byte budget in several sends, and the next offsets after the last', async () => {
    const end = new Map<string, bigint>([['jobs', 40n]]);
    const sizes: number[] = [];
    const { kafka, calls } = scriptedKafka({
      send: (sends) =>
        sends.map((t) => {
          const base = end.get(t.topic) ?? 0n;
          end.set(t.topic, base + BigInt(t.records.length));
          sizes.push(t.records.reduce((n, r) => n + (r.value as Buffer).length, 0));
          return { topic: t.topic, partition: 3, baseOffset: base };
        }),
    });
    const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
    await producer.init();
    // 300 job states of 10 kB: 3 MB, three times a record batch the broker takes by default.
    const jobs = Array.from({ length: 300 }, (_, i) => ({ key: `j${i}`, value: Buffer.alloc(10_000) }));
    const next = await producer.commit(new Map([['jobs', jobs]]), input);
    expect(next).toEqual(new Map([['jobs', 340n]]));
    expect(calls.filter((c) => c === 'send').length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThan(1_048_576);
    expect(calls.at(-1)).toBe('commit');
  });

  it('after a commit request timed out: outcome unknown, sent once, no abort, and spent', async () => {
    const { error: timeout, sent } = await kafkajsTimeout('endTxn');
    expect(sent).toBe(1); // not retried with the same epoch
    const { kafka, calls } = scriptedKafka({
      // As the adapter hands it on (platform/kafka/producers.ts marks it uncertain).
      commit: () => markingUncertain(Promise.reject(timeout)),
    });
    const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
    await producer.init();
    const error = await producer.commit(batch, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionFailedError);
    expect((error as TransactionFailedError).outcome).toBe('unknown');
    expect((error as TransactionFailedError).belief).toEqual({
      transactionalId: 'tx',
      request: 'EndTxn (commit)',
      producerEpoch: 4,
      uncertain: true,
    });
    expect(calls).toEqual(['init', 'send', 'sendOffsets', 'commit']);
    await expect(producer.commit(batch, input)).rejects.toThrow(/spent/);
    expect(calls).toHaveLength(4);
  });

  it('after AddOffsetsToTxn timed out: outcome aborted, and no abort with the same epoch', async () => {
    const { error: timeout, sent } = await kafkajsTimeout('addOffsetsToTxn');
    expect(sent).toBe(1);
    const { kafka, calls } = scriptedKafka({
      sendOffsets: () => markingUncertain(Promise.reject(timeout)),
    });
    const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
    await producer.init();
    const error = await producer.commit(batch, input).catch((e: unknown) => e);
    expect((error as TransactionFailedError).outcome).toBe('aborted');
    expect((error as TransactionFailedError).belief).toMatchObject({
      request: 'AddOffsetsToTxn',
      producerEpoch: 4,
      uncertain: true,
    });
    // The next producer's InitProducerId aborts it with a bumped epoch, fencing the late request.
    expect(calls).toEqual(['init', 'send', 'sendOffsets']);
    await expect(producer.commit(batch, input)).rejects.toThrow(/spent/);
  });
});
