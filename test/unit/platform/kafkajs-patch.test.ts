// kafkajs 2.2.4 as patched by patches/kafkajs+2.2.4.patch (applied by patch-package at
// install), driven through its own internals with fake brokers whose answers the test
// scripts. Each test fails on the unpatched client:
// - a send spanning brokers lost the records of a partition whose leadership moved to
//   a broker that had already answered (answers were kept per broker across retries);
// - an admin's offsets failed at once after a leader move (its metadata is refreshed
//   only every 5 minutes), instead of refreshing the metadata and retrying;
// - a transaction failed outright on answers the broker expects clients to retry:
//   CONCURRENT_TRANSACTIONS to AddOffsetsToTxn, a coordinator move during
//   TxnOffsetCommit, any retriable error of EndTxn;
// - a connection that was never throttled scheduled its queue check with a negative
//   delay (-Date.now()), which Node 23 and later warn about on stderr.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (
  deps: object,
) => (
  request: object,
) => Promise<Array<{ topicName: string; partition: number; errorCode: number; baseOffset: string }>>;
const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as (deps: object) => EosManager;
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => unknown;
const createAdmin = require('kafkajs/src/admin/index.js') as (deps: object) => {
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; high: string; low: string }>>;
};
const InstrumentationEventEmitter = require('kafkajs/src/instrumentation/emitter.js') as new () => object;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error;
};
const { KafkaJSConnectionError } = require('kafkajs/src/errors.js') as {
  KafkaJSConnectionError: new (message: string) => Error;
};

interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  sendOffsets(request: object): Promise<void>;
  commit(): Promise<void>;
}

const NOT_LEADER = 6;
const NOT_COORDINATOR = 16;
const OFFSET_NOT_AVAILABLE = 78;
const CONCURRENT_TRANSACTIONS = 51;

const silent = {
  namespace: () => silent,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const retry = { retries: 5, initialRetryTime: 1, maxRetryTime: 5 };

interface ProduceRequest {
  topicData: Array<{ topic: string; partitions: Array<{ partition: number; messages: unknown[] }> }>;
}

describe('patched kafkajs: a send across brokers', () => {
  it('resends the records of a partition that moved to a broker which had already answered', async () => {
    // Partition 0 is led by broker 1, partition 1 by broker 2. Broker 2 answers
    // NOT_LEADER: partition 1 has moved to broker 1, which answered for partition 0.
    const leaders: Record<number, number> = { 0: 1, 1: 2 };
    const produced: Array<{ node: number; partitions: number[] }> = [];
    let offset = 0;
    const broker = (nodeId: number) => ({
      nodeId,
      async produce({ topicData }: ProduceRequest) {
        const partitions = topicData[0]!.partitions.map((p) => p.partition);
        produced.push({ node: nodeId, partitions });
        if (nodeId === 2) {
          leaders[1] = 1;
          throw createErrorFromCode(NOT_LEADER);
        }
        return {
          topics: topicData.map((t) => ({
            topicName: t.topic,
            partitions: t.partitions.map((p) => ({
              partition: p.partition,
              errorCode: 0,
              baseOffset: String(offset++),
            })),
          })),
        };
      },
    });
    const brokers = new Map([1, 2].map((n) => [n, broker(n)]));
    const cluster = {
      retry,
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => undefined,
      addMultipleTargetTopics: async () => undefined,
      isConnected: () => true,
      removeBroker: () => undefined,
      findTopicPartitionMetadata: () => [
        { partitionId: 0, leader: leaders[0] },
        { partitionId: 1, leader: leaders[1] },
      ],
      findLeaderForPartitions: (_topic: string, partitions: Array<string | number>) => {
        const out: Record<number, number[]> = {};
        for (const p of partitions.map(Number)) out[leaders[p]!] = [...(out[leaders[p]!] ?? []), p];
        return out;
      },
      findBroker: async ({ nodeId }: { nodeId: number }) => brokers.get(Number(nodeId))!,
    };
    const eosManager = createEosManager({ logger: silent, cluster, transactional: false });
    const send = createSendMessages({
      logger: silent,
      cluster,
      partitioner: ({ message }: { message: { partition: number } }) => message.partition,
      eosManager,
      retrier: createRetry(retry),
    });

    const answers = await send({
      acks: -1,
      timeout: 1000,
      topicMessages: [
        {
          topic: 't',
          messages: [
            { key: 'a', value: 'a', partition: 0 },
            { key: 'b', value: 'b', partition: 1 },
          ],
        },
      ],
    });

    expect(answers.map((a) => a.partition).sort()).toEqual([0, 1]);
    expect(produced).toEqual([
      { node: 1, partitions: [0] },
      { node: 2, partitions: [1] },
      { node: 1, partitions: [1] },
    ]);
  });
});

describe('patched kafkajs: an admin across a leader move', () => {
  it('refreshes its metadata and retries offsets answered NOT_LEADER_FOR_PARTITION or OFFSET_NOT_AVAILABLE', async () => {
    let leader = 1;
    let refreshes = 0;
    const asked: number[] = [];
    const answers = [createErrorFromCode(NOT_LEADER), createErrorFromCode(OFFSET_NOT_AVAILABLE)];
    const cluster = {
      addTargetTopic: async () => undefined,
      refreshMetadataIfNecessary: async () => undefined,
      refreshMetadata: async () => {
        refreshes += 1;
        leader = 2;
      },
      findTopicPartitionMetadata: () => [{ partitionId: 0, leader }],
      fetchTopicsOffset: async (requests: Array<{ topic: string; fromBeginning: boolean }>) => {
        const { topic, fromBeginning } = requests[0]!;
        asked.push(leader);
        const error = fromBeginning ? undefined : answers.shift();
        if (error) throw error;
        return [{ topic, partitions: [{ partition: 0, offset: fromBeginning ? '0' : '42' }] }];
      },
    };
    const admin = createAdmin({
      logger: silent,
      instrumentationEmitter: new InstrumentationEventEmitter(),
      retry,
      cluster,
    });
    expect(await admin.fetchTopicOffsets('t')).toEqual([
      { partition: 0, offset: '42', high: '42', low: '0' },
    ]);
    expect(refreshes).toBe(1);
    expect(asked).toEqual([1, 2, 2, 2]);
  });
});

/** A transaction coordinator (and group coordinator) whose first answer per call the test scripts. */
function transactionCluster(failures: Partial<Record<string, Error[]>>) {
  const calls: string[] = [];
  let lookups = 0;
  const answer = (name: string, value: object = {}) => {
    calls.push(name);
    const error = failures[name]?.shift();
    if (error) throw error;
    return value;
  };
  const coordinator = {
    nodeId: 1,
    initProducerId: async () => answer('initProducerId', { producerId: 7, producerEpoch: 0 }),
    addPartitionsToTxn: async () => answer('addPartitionsToTxn'),
    addOffsetsToTxn: async () => answer('addOffsetsToTxn'),
    txnOffsetCommit: async () => answer('txnOffsetCommit'),
    endTxn: async () => answer('endTxn'),
  };
  const cluster = {
    retry,
    refreshMetadataIfNecessary: async () => undefined,
    findGroupCoordinator: async () => {
      lookups += 1;
      return coordinator;
    },
  };
  return { cluster, calls, lookups: () => lookups };
}

async function openTransaction(cluster: object): Promise<EosManager> {
  const eos = createEosManager({
    logger: silent,
    cluster,
    transactionTimeout: 60_000,
    transactional: true,
    transactionalId: 'tx',
  });
  await eos.initProducerId();
  eos.beginTransaction();
  return eos;
}

const offsets = {
  consumerGroupId: 'g',
  topics: [{ topic: 'in', partitions: [{ partition: 0, offset: '5' }] }],
};

describe('patched kafkajs: transactions retry what the broker asks clients to retry', () => {
  it('retries AddOffsetsToTxn answered CONCURRENT_TRANSACTIONS (the previous commit still completing)', async () => {
    const { cluster, calls } = transactionCluster({
      addOffsetsToTxn: [createErrorFromCode(CONCURRENT_TRANSACTIONS)],
    });
    const eos = await openTransaction(cluster);
    await eos.sendOffsets(offsets);
    await eos.commit();
    expect(calls).toEqual([
      'initProducerId',
      'addOffsetsToTxn',
      'addOffsetsToTxn',
      'txnOffsetCommit',
      'endTxn',
    ]);
  });

  it('finds the group coordinator again when TxnOffsetCommit reaches one that moved', async () => {
    const { cluster, calls, lookups } = transactionCluster({
      txnOffsetCommit: [createErrorFromCode(NOT_COORDINATOR)],
    });
    const eos = await openTransaction(cluster);
    const before = lookups();
    await eos.sendOffsets(offsets);
    expect(calls.filter((c) => c === 'txnOffsetCommit')).toHaveLength(2);
    expect(lookups() - before).toBeGreaterThanOrEqual(3); // transaction, group, group again
  });

  it('retries EndTxn after a retriable error, so a commit is not left half done', async () => {
    const { cluster, calls } = transactionCluster({
      endTxn: [new KafkaJSConnectionError('Connection closed'), createErrorFromCode(CONCURRENT_TRANSACTIONS)],
    });
    const eos = await openTransaction(cluster);
    await eos.sendOffsets(offsets);
    await eos.commit();
    expect(calls.filter((c) => c === 'endTxn')).toHaveLength(3);
  });
});

const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (
  options: object,
) => {
  scheduleCheckPendingRequests(): void;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
};

describe('patched kafkajs: a connection that is not throttled', () => {
  it('schedules its pending-requests check without a negative delay (Node 24 warns about one)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const queue = new RequestQueue({
        maxInFlightRequests: 1,
        requestTimeout: 1000,
        enforceRequestTimeout: true,
        clientId: 'test',
        broker: '127.0.0.1:1',
        logger: {
          debug: () => undefined,
          info: () => undefined,
          warn: () => undefined,
          error: () => undefined,
        },
      });
      queue.scheduleCheckPendingRequests(); // throttledUntil is -1: not throttled
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (queue.throttleCheckTimeoutId) clearTimeout(queue.throttleCheckTimeoutId);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.startsWith('TimeoutNegativeWarning'))).toEqual([]);
  });
});
