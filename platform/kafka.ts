// The one place that builds kafkajs clients, so the client library stays replaceable
// (kafkajs is unmaintained; see docs/kafkajs-notes.md) and its logs go through pino.
import kafkajs, { type KafkaConfig, type logCreator, type ProducerConfig } from 'kafkajs';
import { EOS_NOTE, EOS_WARNING, operatorLevel } from './kafka-log.js';
import { type KafkaSecurity, kafkaClientSecurity, warnOnce } from './kafka-security.js';
import type { Logger } from './log.js';

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

export type Kafka = InstanceType<typeof KafkaClient>;

/** Whether this process explained the bounded retries of its idempotent producers (once). */
let eosExplained = false;

/** kafkajs' log through pino, at the level it has for an operator (platform/kafka-log.ts). */
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

export function createKafka(options: KafkaClientOptions): Kafka {
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
  return new RunstreamKafka(config);
}

export type KafkaAdmin = ReturnType<Kafka['admin']>;

/** A newer producer took this transactional id (or the broker expired our transaction). */
export function isProducerFenced(error: unknown): boolean {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    const type = (e as { type?: string }).type;
    if (type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED') return true;
  }
  return false;
}

/** Bounds a Kafka call in time, so probes and shutdowns never hang on a dead cluster. */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers "is the cluster reachable" for /readyz with one shared admin client; the
 * answer is cached briefly so a probe storm costs one metadata request.
 */
export class KafkaReachability {
  private readonly admin;
  private last: { at: number; ok: boolean; detail: string } | undefined;
  private inFlight: Promise<{ ok: boolean; detail: string }> | undefined;

  constructor(
    kafka: Kafka,
    private readonly cacheMs = 1000,
  ) {
    this.admin = kafka.admin({ retry: { retries: 0 } });
  }

  async check(): Promise<{ ok: boolean; detail: string }> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last;
    this.inFlight ??= this.probe().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async probe(): Promise<{ ok: boolean; detail: string }> {
    let result: { ok: boolean; detail: string };
    try {
      await withTimeout(this.admin.connect(), 3000, 'connect');
      const cluster = await withTimeout(this.admin.describeCluster(), 3000, 'describeCluster');
      result = { ok: true, detail: `kafka reachable (${cluster.brokers.length} brokers)` };
    } catch (error) {
      result = { ok: false, detail: `kafka unreachable: ${(error as Error).message}` };
    }
    this.last = { at: Date.now(), ...result };
    return result;
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }
}
