// kafkajs 2.2.4 as patched by patches/kafkajs+2.2.4.patch (applied by patch-package at
// install), driven through its own internals with fake brokers whose answers the test
// scripts. Each test fails on the unpatched client:
// - a send spanning brokers lost the records of a partition whose leadership moved to
//   a broker that had already answered (answers were kept per broker across retries);
// - a send resolved without the records of a partition its cached metadata did not list
//   (kafkajs left it out of every request); now it refreshes the metadata and retries;
// - an admin's offsets failed at once after a leader move (its metadata is refreshed
//   only every 5 minutes), instead of refreshing the metadata and retrying;
// - a transaction failed outright on answers the broker expects clients to retry:
//   CONCURRENT_TRANSACTIONS to AddOffsetsToTxn, a coordinator move during
//   TxnOffsetCommit, a definite rejection of EndTxn;
// - a transaction request that timed out or lost its connection with the request out
//   (EndTxn, AddOffsetsToTxn, TxnOffsetCommit) must surface, sent once, as uncertain:
//   resent with the same epoch, a late commit can land on the next transaction;
// - a transactional producer sent a FindCoordinator before every transaction request
//   (four per transaction); it keeps each coordinator until a request to it fails;
// - AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS (most transactions that follow
//   one at once) failed the whole send, whose retry refreshed the metadata first;
// - the transaction manager retried at the client's pace, not the producer's;
// - a group consumer whose coordinator's broker died kept heartbeating the dead address
//   and crashed about 30 s later; it now finds the coordinator again;
// - a connection that was never throttled scheduled its queue check with a negative
//   delay (-Date.now()), which Node 23 and later warn about on stderr;
// - a client disconnected while it was connecting to brokers that were gone went on
//   trying them, and its waits between tries kept the process alive after its owner stopped.
import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';

const require = createRequire(import.meta.url);
const createSendMessages = require('kafkajs/src/producer/sendMessages.js') as (
  deps: object,
) => (
  request: object,
) => Promise<Array<{ topicName: string; partition: number; errorCode: number; baseOffset: string }>>;
const createEosManager = require('kafkajs/src/producer/eosManager/index.js') as (deps: object) => EosManager;
const createProducer = require('kafkajs/src/producer/index.js') as (deps: object) => {
  transaction(): Promise<{ sendOffsets(request: object): Promise<void>; commit(): Promise<void> }>;
};
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => unknown;
const createAdmin = require('kafkajs/src/admin/index.js') as (deps: object) => {
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; high: string; low: string }>>;
};
const InstrumentationEventEmitter = require('kafkajs/src/instrumentation/emitter.js') as new () => object;
const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error;
};
const { KafkaJSConnectionError, KafkaJSConnectionClosedError, KafkaJSRequestTimeoutError } =
  require('kafkajs/src/errors.js') as {
    KafkaJSConnectionError: new (message: string, options?: { code?: string }) => Error;
    KafkaJSConnectionClosedError: new (message: string, options: { host: string; port: number }) => Error;
    KafkaJSRequestTimeoutError: new (message: string) => Error;
  };

interface EosManager {
  initProducerId(): Promise<void>;
  beginTransaction(): void;
  addPartitionsToTransaction(
    topics: Array<{ topic: string; partitions: Array<{ partition: number }> }>,
  ): Promise<void>;
  sendOffsets(request: object): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const NOT_LEADER = 6;
const NOT_COORDINATOR = 16;
const OFFSET_NOT_AVAILABLE = 78;
const CONCURRENT_TRANSACTIONS = 51;
const REBALANCE_IN_PROGRESS = 27;
const INVALID_PRODUCER_EPOCH = 47; // a fenced producer

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

/** One broker leading every partition the (scripted) metadata lists. */
function oneBrokerCluster(listed: number[], onRefresh: () => void) {
  const produced: number[][] = [];
  let refreshes = 0;
  const broker = {
    nodeId: 1,
    async produce({ topicData }: ProduceRequest) {
      produced.push(topicData[0]!.partitions.map((p) => p.partition));
      return {
        topics: topicData.map((t) => ({
          topicName: t.topic,
          partitions: t.partitions.map((p) => ({ partition: p.partition, errorCode: 0, baseOffset: '0' })),
        })),
      };
    },
  };
  const cluster = {
    retry,
    refreshMetadataIfNecessary: async () => undefined,
    refreshMetadata: async () => {
      refreshes += 1;
      onRefresh();
    },
    addMultipleTargetTopics: async () => undefined,
    isConnected: () => true,
    removeBroker: () => undefined,
    findTopicPartitionMetadata: () => listed.map((partitionId) => ({ partitionId, leader: 1 })),
    findLeaderForPartitions: (_topic: string, partitions: Array<string | number>) => {
      const led = partitions.map(Number).filter((p) => listed.includes(p));
      return led.length > 0 ? { 1: led } : {};
    },
    findBroker: async () => broker,
  };
  const send = createSendMessages({
    logger: silent,
    cluster,
    partitioner: ({ message }: { message: { partition: number } }) => message.partition,
    eosManager: createEosManager({ logger: silent, cluster, transactional: false }),
    retrier: createRetry(retry),
  });
  const request = {
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
  };
  return { send: () => send(request), produced, refreshes: () => refreshes };
}

describe('patched kafkajs: a send to a partition the metadata does not list', () => {
  it('refreshes the metadata and sends it once listed (a topic that grew), instead of resolving without it', async () => {
    const listed = [0];
    const { send, produced, refreshes } = oneBrokerCluster(listed, () => {
      if (!listed.includes(1)) listed.push(1);
    });
    const answers = await send();
    expect(answers.map((a) => a.partition).sort()).toEqual([0, 1]);
    expect(refreshes()).toBe(1);
    // Nothing was sent by the attempt that found the gap: partition 0 went once, with 1.
    expect(produced).toEqual([[0, 1]]);
  });

  it('fails, naming the partition, once the retries are spent', async () => {
    const { send, produced, refreshes } = oneBrokerCluster([0], () => undefined);
    const error = await send().then(
      () => expect.unreachable('the send must fail'),
      (e: unknown) => e as Error & { cause?: Error },
    );
    expect(error.name).toBe('KafkaJSNumberOfRetriesExceeded');
    expect(error.cause?.message).toMatch(/t partition\(s\) 1, which the metadata does not list/);
    expect(refreshes()).toBe(retry.retries + 1);
    expect(produced).toEqual([]);
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
  /** The producer epoch of each EndTxn. */
  const epochs: number[] = [];
  let lookups = 0;
  const answer = (name: string, value: object = {}) => {
    calls.push(name);
    const error = failures[name]?.shift();
    if (error) throw error;
    return value;
  };
  const coordinator = {
    nodeId: 1,
    initProducerId: async () => answer('initProducerId', { producerId: 7, producerEpoch: 3 }),
    addPartitionsToTxn: async () => answer('addPartitionsToTxn'),
    addOffsetsToTxn: async () => answer('addOffsetsToTxn'),
    txnOffsetCommit: async () => answer('txnOffsetCommit'),
    endTxn: async ({ producerEpoch }: { producerEpoch: number }) => {
      epochs.push(producerEpoch);
      return answer('endTxn');
    },
  };
  const cluster = {
    retry,
    refreshMetadataIfNecessary: async () => undefined,
    findGroupCoordinator: async () => {
      lookups += 1;
      return coordinator;
    },
    /** The pool's broker by node id (no request); fails as scripted under 'findBroker'. */
    findBroker: async ({ nodeId }: { nodeId: number }) => {
      const error = failures.findBroker?.shift();
      if (error) throw error;
      expect(nodeId).toBe(coordinator.nodeId);
      return coordinator;
    },
  };
  return { cluster, calls, epochs, lookups: () => lookups };
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
    // The group's coordinator, and again after NOT_COORDINATOR (the transaction
    // coordinator is kept from InitProducerId).
    expect(lookups() - before).toBe(2);
  });

  it('retries EndTxn after a definite rejection or a request never sent, so a commit is not left half done', async () => {
    const { cluster, calls } = transactionCluster({
      endTxn: [
        new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
          code: 'ECONNREFUSED',
        }),
        createErrorFromCode(CONCURRENT_TRANSACTIONS),
        createErrorFromCode(NOT_COORDINATOR),
      ],
    });
    const eos = await openTransaction(cluster);
    await eos.sendOffsets(offsets);
    await eos.commit();
    expect(calls.filter((c) => c === 'endTxn')).toHaveLength(4);
  });
});

describe('patched kafkajs: coordinators kept across transactions', () => {
  /** One transaction as the processor makes it: records, offsets, commit. */
  async function transaction(eos: EosManager, partition: number): Promise<void> {
    await eos.addPartitionsToTransaction([{ topic: 'changelog', partitions: [{ partition }] }]);
    await eos.sendOffsets(offsets);
    await eos.commit();
  }

  it('looks each coordinator up once, not before every request (four per transaction)', async () => {
    const { cluster, calls, lookups } = transactionCluster({});
    const eos = await openTransaction(cluster);
    await transaction(eos, 0);
    for (const partition of [1, 2]) {
      eos.beginTransaction();
      await transaction(eos, partition);
    }
    expect(calls.filter((c) => c === 'endTxn')).toHaveLength(3);
    expect(lookups()).toBe(2); // the transaction coordinator, the group's
  });

  it('looks the transaction coordinator up again after EndTxn reached one that moved', async () => {
    const { cluster, calls, lookups } = transactionCluster({
      endTxn: [createErrorFromCode(NOT_COORDINATOR)],
    });
    const eos = await openTransaction(cluster);
    await transaction(eos, 0);
    expect(calls.filter((c) => c === 'endTxn')).toHaveLength(2);
    expect(lookups()).toBe(3); // transaction, group, transaction again
    eos.beginTransaction();
    await transaction(eos, 1);
    expect(lookups()).toBe(3);
  });

  it('keeps the coordinator through a definite "not now" and finds it again after a lost connection', async () => {
    const { cluster, lookups } = transactionCluster({
      addOffsetsToTxn: [createErrorFromCode(CONCURRENT_TRANSACTIONS)],
      txnOffsetCommit: [
        new KafkaJSConnectionError('Connection error: connect ECONNREFUSED', { code: 'ECONNREFUSED' }),
      ],
    });
    const eos = await openTransaction(cluster);
    await transaction(eos, 0);
    expect(lookups()).toBe(3); // transaction (kept), group, group again
  });

  it('looks a coordinator up again when its broker cannot be reached', async () => {
    const { cluster, calls, lookups } = transactionCluster({
      findBroker: [
        new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
          code: 'ECONNREFUSED',
        }),
      ],
    });
    const eos = await openTransaction(cluster);
    await transaction(eos, 0);
    expect(lookups()).toBe(3); // transaction, group, transaction again
    expect(calls).toEqual([
      'initProducerId',
      'addPartitionsToTxn',
      'addOffsetsToTxn',
      'txnOffsetCommit',
      'endTxn',
    ]);
  });
});

describe('patched kafkajs: AddPartitionsToTxn retried on the coordinator\'s "not now"', () => {
  const add = (eos: EosManager) =>
    eos.addPartitionsToTransaction([{ topic: 'changelog', partitions: [{ partition: 0 }] }]);

  it("retries CONCURRENT_TRANSACTIONS (the previous commit's markers) itself, keeping the coordinator", async () => {
    const { cluster, calls, lookups } = transactionCluster({
      addPartitionsToTxn: [
        createErrorFromCode(CONCURRENT_TRANSACTIONS),
        createErrorFromCode(CONCURRENT_TRANSACTIONS),
      ],
    });
    const eos = await openTransaction(cluster);
    await add(eos);
    expect(calls.filter((c) => c === 'addPartitionsToTxn')).toHaveLength(3);
    expect(lookups()).toBe(1);
  });

  it('finds the coordinator again when it moved, and retries', async () => {
    const { cluster, calls, lookups } = transactionCluster({
      addPartitionsToTxn: [createErrorFromCode(NOT_COORDINATOR)],
    });
    const eos = await openTransaction(cluster);
    await add(eos);
    expect(calls.filter((c) => c === 'addPartitionsToTxn')).toHaveLength(2);
    expect(lookups()).toBe(2);
  });

  it('fails the send on anything else, as before (a fenced producer; a lost connection)', async () => {
    const fenced = createErrorFromCode(INVALID_PRODUCER_EPOCH);
    const lost = new KafkaJSConnectionError('Connection error: read ECONNRESET', { code: 'ECONNRESET' });
    const { cluster, calls, lookups } = transactionCluster({ addPartitionsToTxn: [fenced, lost] });
    const eos = await openTransaction(cluster);
    await expect(add(eos)).rejects.toBe(fenced);
    expect(lookups()).toBe(1); // the coordinator answered: kept
    await expect(add(eos)).rejects.toBe(lost);
    await add(eos);
    expect(lookups()).toBe(2); // found again after the lost connection
    expect(calls.filter((c) => c === 'addPartitionsToTxn')).toHaveLength(3);
  });
});

describe("patched kafkajs: transaction requests retry at the producer's pace", () => {
  it("gives the transaction manager the producer's retry, not the client's", async () => {
    const { cluster, calls } = transactionCluster({
      addOffsetsToTxn: [createErrorFromCode(CONCURRENT_TRANSACTIONS)],
    });
    const producer = createProducer({
      // The client's retry allows none; the producer's allows some.
      cluster: {
        ...cluster,
        retry: { retries: 0, initialRetryTime: 1000 },
        markOffsetAsCommitted: () => undefined,
      },
      logger: silent,
      retry,
      idempotent: true,
      transactionalId: 'tx',
    });
    const transaction = await producer.transaction();
    await transaction.sendOffsets(offsets);
    await transaction.commit();
    expect(calls.filter((c) => c === 'addOffsetsToTxn')).toHaveLength(2);
  });
});

const ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as new (
  options: object,
) => {
  coordinator: unknown;
  memberId: string | null;
  generationId: number | null;
  heartbeat(options: { interval: number }): Promise<void>;
};

describe("patched kafkajs: a group consumer whose coordinator's broker died", () => {
  /** A consumer group in a generation, its coordinator at `dead`; lookups answer `next`. */
  function groupWith(dead: object, next: object[]) {
    const lookups: string[] = [];
    const group = new ConsumerGroup({
      retry,
      cluster: {
        findGroupCoordinator: async ({ groupId }: { groupId: string }) => {
          lookups.push(groupId);
          return next.shift();
        },
      },
      groupId: 'g',
      topics: ['in'],
      logger: silent,
      instrumentationEmitter: new InstrumentationEventEmitter(),
    });
    Object.assign(group, { coordinator: dead, memberId: 'm-1', generationId: 4 });
    return { group, lookups };
  }

  it('finds the coordinator again after a heartbeat could not reach it, and heartbeats the new one (no rejoin)', async () => {
    const refused = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
      code: 'ECONNREFUSED',
    });
    const dead = {
      heartbeat: async () => {
        throw refused;
      },
    };
    const beats: object[] = [];
    const alive = { heartbeat: async (payload: object) => void beats.push(payload) };
    const { group, lookups } = groupWith(dead, [alive]);
    await expect(group.heartbeat({ interval: 0 })).rejects.toBe(refused);
    expect(lookups).toEqual(['g']);
    expect(group.coordinator).toBe(alive);
    await group.heartbeat({ interval: 0 });
    expect(beats).toEqual([{ groupId: 'g', memberId: 'm-1', groupGenerationId: 4 }]);
  });

  it('keeps the coordinator on its own answers (a rebalance), which the runner handles as before', async () => {
    const rebalancing = createErrorFromCode(REBALANCE_IN_PROGRESS);
    const coordinator = {
      heartbeat: async () => {
        throw rebalancing;
      },
    };
    const { group, lookups } = groupWith(coordinator, []);
    await expect(group.heartbeat({ interval: 0 })).rejects.toBe(rebalancing);
    expect(lookups).toEqual([]);
    expect(group.coordinator).toBe(coordinator);
  });
});

/** The error a transaction request ended with, and the requests the coordinators got. */
async function failedRequest(
  failures: Partial<Record<string, Error[]>>,
  step: (eos: EosManager) => Promise<void>,
): Promise<{ error: UncertainError; calls: string[]; epochs: number[] }> {
  const { cluster, calls, epochs } = transactionCluster(failures);
  const eos = await openTransaction(cluster);
  const error = await step(eos).then(
    () => expect.unreachable('the request must fail'),
    (e: unknown) => e as UncertainError,
  );
  return { error, calls, epochs };
}

interface UncertainError extends Error {
  request: string;
  transactionalId: string;
  producerEpoch: number;
  retriable: boolean;
  cause: Error;
}

describe('patched kafkajs: a transaction request whose outcome is unknown is never resent', () => {
  // Before KIP-890, a commit or abort resent with the same epoch after a timeout can be
  // answered, and the first one land later on the producer's next transaction.
  it('surfaces an EndTxn (commit) that timed out, sent once, naming the request and the epoch', async () => {
    const { error, calls, epochs } = await failedRequest(
      { endTxn: [new KafkaJSRequestTimeoutError('Request EndTxn(key: 26, version: 1) timed out')] },
      async (eos) => {
        await eos.sendOffsets(offsets);
        await eos.commit();
      },
    );
    expect(calls.filter((c) => c === 'endTxn')).toHaveLength(1);
    expect(epochs).toEqual([3]);
    expect(error.name).toBe('KafkaJSUncertainRequestError');
    expect(error.retriable).toBe(false);
    expect(error).toMatchObject({ request: 'EndTxn (commit)', transactionalId: 'tx', producerEpoch: 3 });
    expect(error.cause.name).toBe('KafkaJSRequestTimeoutError');
  });

  it('surfaces an EndTxn (abort) whose connection closed with the request out', async () => {
    const { error, calls } = await failedRequest(
      { endTxn: [new KafkaJSConnectionClosedError('Closed connection', { host: 'b', port: 1 })] },
      async (eos) => {
        await eos.sendOffsets(offsets);
        await eos.abort();
      },
    );
    expect(calls.filter((c) => c === 'endTxn')).toHaveLength(1);
    expect(error).toMatchObject({ name: 'KafkaJSUncertainRequestError', request: 'EndTxn (abort)' });
  });

  it('surfaces an AddOffsetsToTxn that timed out, and sends no TxnOffsetCommit', async () => {
    const { error, calls } = await failedRequest(
      { addOffsetsToTxn: [new KafkaJSRequestTimeoutError('Request AddOffsetsToTxn timed out')] },
      (eos) => eos.sendOffsets(offsets),
    );
    expect(calls).toEqual(['initProducerId', 'addOffsetsToTxn']);
    expect(error).toMatchObject({ name: 'KafkaJSUncertainRequestError', request: 'AddOffsetsToTxn' });
  });

  it('surfaces a TxnOffsetCommit whose connection was lost with the request out', async () => {
    const { error, calls } = await failedRequest(
      {
        txnOffsetCommit: [
          new KafkaJSConnectionError('Connection error: read ECONNRESET', { code: 'ECONNRESET' }),
        ],
      },
      (eos) => eos.sendOffsets(offsets),
    );
    expect(calls.filter((c) => c === 'txnOffsetCommit')).toHaveLength(1);
    expect(error).toMatchObject({ name: 'KafkaJSUncertainRequestError', request: 'TxnOffsetCommit' });
  });

  it('still retries InitProducerId after a timeout: each one fences the previous epoch', async () => {
    const { cluster, calls } = transactionCluster({
      initProducerId: [new KafkaJSRequestTimeoutError('Request InitProducerId timed out')],
    });
    await openTransaction(cluster);
    expect(calls).toEqual(['initProducerId', 'initProducerId']);
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

const BrokerPool = require('kafkajs/src/cluster/brokerPool.js') as new (
  options: object,
) => {
  createBroker(options: object): object;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
};

describe('patched kafkajs: a client disconnected while it connects', () => {
  it('ends the connect at once, rejected, and neither tries a broker nor waits to after', async () => {
    // Every broker refuses (it is gone); the client's retries wait between attempts.
    let attempts = 0;
    const pool = new BrokerPool({
      connectionPoolBuilder: { build: async () => ({}) },
      logger: silent,
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 1000 },
    });
    pool.createBroker = () => ({
      isConnected: () => false,
      connect: async () => {
        attempts++;
        throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
          code: 'ECONNREFUSED',
        });
      },
      disconnect: async () => undefined,
    });
    vi.useFakeTimers();
    try {
      let outcome: unknown;
      const connecting = pool.connect().then(
        () => {
          outcome = 'connected';
        },
        (error: unknown) => {
          outcome = error;
        },
      );
      await vi.advanceTimersByTimeAsync(0);
      expect(attempts).toBe(1);
      expect(vi.getTimerCount()).toBe(1); // the wait before the next attempt
      await pool.disconnect();
      await vi.advanceTimersByTimeAsync(0);
      expect(outcome).toMatchObject({
        name: 'KafkaJSNonRetriableError',
        message: 'Disconnected while connecting to the brokers',
      });
      expect(vi.getTimerCount()).toBe(0); // nothing left to hold the process
      await vi.advanceTimersByTimeAsync(10_000);
      expect(attempts).toBe(1);
      await connecting;
    } finally {
      vi.useRealTimers();
    }
  });

  it('still retries a connect nobody ends, and connects once a broker answers', async () => {
    let attempts = 0;
    const pool = new BrokerPool({
      connectionPoolBuilder: { build: async () => ({}) },
      logger: silent,
      retry,
    });
    pool.createBroker = () => ({
      isConnected: () => false,
      connect: async () => {
        if (++attempts < 3) {
          throw new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', {
            code: 'ECONNREFUSED',
          });
        }
      },
      disconnect: async () => undefined,
    });
    await pool.connect();
    expect(attempts).toBe(3);
  });
});
