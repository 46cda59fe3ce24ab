// The partition producer over a scripted transactional producer of the Kafka port:
// what it returns when a transaction commits, and the typed error it throws otherwise,
// saying whether the transaction certainly did not commit. A failed producer is spent.
import { describe, expect, it } from 'vitest';
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

interface Script {
  send?: (sends: readonly TopicRecords[]) => PartitionAck[];
  sendOffsets?: () => void;
  commit?: () => void;
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
});
