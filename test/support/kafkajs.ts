// Broker plumbing the Kafka port does not offer (granting ACLs, altering topic configs):
// a kafkajs client of the tests' own, with the same TLS and SASL mapping as the adapter.
// The only test helper outside platform/kafka/'s own tests that imports kafkajs.
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
