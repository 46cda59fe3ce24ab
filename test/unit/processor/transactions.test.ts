// The partition producer over a scripted kafkajs transaction: what it returns when a
// transaction commits, and the typed error it throws otherwise, saying whether the
// transaction certainly did not commit. A failed producer is spent.
import type { Kafka, RecordMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  PartitionProducer,
  ProducerFencedError,
  TransactionFailedError,
  transactionalIdFor,
} from '../../../processor/transactions.js';

interface Script {
  sendBatch?: (topics: Array<{ topic: string; messages: unknown[] }>) => RecordMetadata[];
  sendOffsets?: () => void;
  commit?: () => void;
}

function scriptedKafka(script: Script) {
  const calls: string[] = [];
  const transaction = {
    sendBatch: async ({
      topicMessages,
    }: {
      topicMessages: Array<{ topic: string; messages: unknown[] }>;
    }) => {
      calls.push('sendBatch');
      return script.sendBatch
        ? script.sendBatch(topicMessages)
        : topicMessages.map((t) => ({ topicName: t.topic, partition: 3, errorCode: 0, baseOffset: '10' }));
    },
    sendOffsets: async () => {
      calls.push('sendOffsets');
      script.sendOffsets?.();
    },
    commit: async () => {
      calls.push('commit');
      script.commit?.();
    },
    abort: async () => {
      calls.push('abort');
    },
  };
  const producer = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    transaction: async () => transaction,
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, calls };
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
    expect(calls).toEqual(['abort', 'sendBatch', 'sendOffsets', 'commit']);
  });

  it('aborts, and never commits, when Kafka did not acknowledge a changelog partition', async () => {
    const { kafka, calls } = scriptedKafka({
      sendBatch: (topics) => [{ topicName: topics[0]!.topic, partition: 3, errorCode: 0, baseOffset: '10' }],
    });
    const producer = new PartitionProducer(kafka, 'tx', 3, 60_000);
    await producer.init();
    const error = await producer.commit(batch, input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransactionFailedError);
    expect((error as TransactionFailedError).outcome).toBe('aborted');
    expect(calls).toEqual(['abort', 'sendBatch', 'abort']);
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
});
