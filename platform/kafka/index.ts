// The Kafka port over kafkajs 2.2.4 and its patch (docs/kafkajs-notes.md): the one
// entry point of platform/kafka/, and the one place kafkajs clients are built. Nothing
// outside this folder imports kafkajs or another file of it
// (test/unit/architecture.test.ts); a role's start builds its client here and hands the
// port (platform/kafka-port.ts) to the code that uses it. kafkajs' logs go through pino.
import kafkajs, { type KafkaConfig, type logCreator, type ProducerConfig } from 'kafkajs';
import type { KafkaPort } from '../kafka-port.js';
import { type KafkaSecurity, warnOnce } from '../kafka-security.js';
import type { Logger } from '../log.js';
import { KafkajsPort } from './clients.js';
import { EOS_NOTE, EOS_WARNING, operatorLevel } from './log.js';
import { kafkaClientSecurity } from './security.js';

const { Kafka: KafkaClient, logLevel, Partitioners } = kafkajs;

/**
 * Every runstream producer names each record's partition or must partition like Java's
 * clients (murmur2, kafkajs' default since 2.0; docs/kafkajs-notes.md): naming the
 * partitioner once here also answers kafkajs' warning that its default changed.
 */
class RunstreamKafka extends KafkaClient {
  override producer(config: ProducerConfig = {}) {
    return super.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...config });
  }
}

/** Whether this process explained the bounded retries of its idempotent producers (once). */
let eosExplained = false;

/** kafkajs' log through pino, at the level it has for an operator (platform/kafka/log.ts). */
function pinoLogCreator(logger: Logger, operatorLog: boolean): logCreator {
  return () =>
    ({ level: kafkajsLevel, log }) => {
      // pino has the time; kafkajs' stack of a retried connection error is detail.
      const { message, timestamp: _timestamp, logger: _name, stack, ...extra } = log;
      const level = operatorLevel(kafkajsLevel, message, extra);
      if (stack !== undefined && level !== 'warn') extra.stack = stack;
      const target = logger.child({ component: 'kafkajs' });
      if (message === EOS_WARNING && operatorLog && !eosExplained) {
        eosExplained = true;
        logger.info(EOS_NOTE);
      }
      target[level](extra, message);
    };
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** TLS and SASL (plaintext when absent). */
  security?: KafkaSecurity;
  /** Upper bound for connecting and requests, so callers never hang on a dead cluster. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retries?: number;
  /** False for a client whose log code reads (the start check's): it gets no notes for operators. */
  operatorLog?: boolean;
}

export function createKafka(options: KafkaClientOptions): KafkaPort {
  const { security } = options;
  if (security) warnOnce(security, options.logger);
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(options.logger, options.operatorLog ?? true),
    ...(security ? kafkaClientSecurity(security) : {}),
  };
  return new KafkajsPort(new RunstreamKafka(config));
}
