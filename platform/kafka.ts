// The one place that builds kafkajs clients, so the client library stays replaceable
// (kafkajs is unmaintained; see docs/kafkajs-notes.md) and its logs go through pino.
import kafkajs, { type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from './log.js';

const { Kafka, logLevel } = kafkajs;
export type Kafka = InstanceType<typeof Kafka>;

function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const target = logger.child({ component: 'kafkajs' });
      if (level === logLevel.ERROR) target.error(extra, message);
      else if (level === logLevel.WARN) target.warn(extra, message);
      else if (level === logLevel.INFO) target.debug(extra, message);
      else target.trace(extra, message);
    };
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Upper bound for connecting and requests, so callers never hang on a dead cluster. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retries?: number;
}

export function createKafka(options: KafkaClientOptions): Kafka {
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(options.logger),
  };
  return new Kafka(config);
}

export const kafkaErrors = {
  isKafkaError(error: unknown): error is InstanceType<typeof kafkajs.KafkaJSError> {
    return error instanceof kafkajs.KafkaJSError;
  },
};
