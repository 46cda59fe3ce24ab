// The partition producer over a scripted kafkajs transaction: what it returns when a
// transaction commits, and the typed error it throws otherwise, saying whether the
// transaction certainly did not commit. A failed producer is spent.
import { createRequire } from 'node:module';
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

const require = createRequire(import.meta.url);
const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as (deps: object) => {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  sendOffsets(request: object): Promise<void>;
  commit(): Promise<void>;
};
const { KafkaJSRequestTimeoutError } = require('kafkajs/src/errors.js') as {
  KafkaJSRequestTimeoutError: new (message: string) => Error;
};

/**
 * The error the patched kafkajs gives when a transaction request times out: its own
 * transaction manager, over a coordinator (producer epoch 4) whose `timedOut` request
 * never answers in time. Also counts the requests sent, to show nothing was resent.
 */
async function kafkajsTimeout(
  timedOut: 'endTxn' | 'addOffsetsToTxn',
): Promise<{ error: Error; sent: number }> {
  let sent = 0;
  const answer = (name: string) => async () => {
    if (name !== timedOut) return {};
    sent += 1;
    throw new KafkaJSRequestTimeoutError(`Request ${name} timed out`);
  };
  const coordinator = {
    initProducerId: async () => ({ producerId: 9, producerEpoch: 4 }),
    addOffsetsToTxn: answer('addOffsetsToTxn'),
    txnOffsetCommit: answer('txnOffsetCommit'),
    endTxn: answer('endTxn'),
  };
  const silent = { namespace: () => silent, debug() {}, info() {}, warn() {}, error() {} };
  const eos = createEosManager({
    logger: silent,
    cluster: {
      retry: { retries: 5, initialRetryTime: 1, maxRetryTime: 5 },
      refreshMetadataIfNecessary: async () => undefined,
      findGroupCoordinator: async () => coordinator,
    },
    transactional: true,
    transactionalId: 'tx',
  });
  await eos.initProducerId();
  eos.beginTransaction();
  const error = await (async () => {
    await eos.sendOffsets({
      consumerGroupId: 'g',
      topics: [{ topic: 'in', partitions: [{ partition: 3, offset: '99' }] }],
    });
    await eos.commit();
  })().then(
    () => expect.unreachable(`${timedOut} must fail`),
    (e: unknown) => e as Error,
  );
  return { error, sent };
}

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

  it('after a commit request timed out: outcome unknown, sent once, no abort, and spent', async () => {
    const { error: timeout, sent } = await kafkajsTimeout('endTxn');
    expect(sent).toBe(1); // not retried with the same epoch
    const { kafka, calls } = scriptedKafka({
      commit: () => {
        throw timeout;
      },
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
    expect(calls).toEqual(['abort', 'sendBatch', 'sendOffsets', 'commit']);
    await expect(producer.commit(batch, input)).rejects.toThrow(/spent/);
    expect(calls).toHaveLength(4);
  });

  it('after AddOffsetsToTxn timed out: outcome aborted, and no abort with the same epoch', async () => {
    const { error: timeout, sent } = await kafkajsTimeout('addOffsetsToTxn');
    expect(sent).toBe(1);
    const { kafka, calls } = scriptedKafka({
      sendOffsets: () => {
        throw timeout;
      },
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
    expect(calls).toEqual(['abort', 'sendBatch', 'sendOffsets']);
    await expect(producer.commit(batch, input)).rejects.toThrow(/spent/);
  });
});
