// Broker plumbing the Kafka port does not offer (granting ACLs, altering topic configs):
// a kafkajs client of the tests' own, with the same TLS and SASL mapping as the adapter.
// The only test helper outside platform/kafka/'s own tests that imports kafkajs.
import { createRequire } from 'node:module';
import kafkajs, { type Kafka } from 'kafkajs';
import { kafkaClientSecurity } from '../../platform/kafka/security.js';
import type { KafkaSecurity } from '../../platform/kafka-security.js';

export type PlumbingKafka = Kafka;

export function plumbingKafka(options: {
  brokers: string[];
  clientId: string;
  security?: KafkaSecurity;
}): PlumbingKafka {
  return new kafkajs.Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: kafkajs.logLevel.NOTHING,
    ...(options.security ? kafkaClientSecurity(options.security) : {}),
  });
}

/** The client's own error classes, so the error predicates are tested on what the adapter throws. */
export const clientErrors = {
  ProtocolError: kafkajs.KafkaJSProtocolError,
  ConnectionError: kafkajs.KafkaJSConnectionError,
  NonRetriableError: kafkajs.KafkaJSNonRetriableError,
};

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
export async function kafkajsTimeout(
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
    () => {
      throw new Error(`${timedOut} must fail`);
    },
    (e: unknown) => e as Error,
  );
  return { error, sent };
}
