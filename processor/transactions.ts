// The transactional producer of one input partition (Kafka Streams' StreamsProducer).
// One transactional id per input partition fences a zombie previous owner (kafkajs has
// no consumer-group fencing, KIP-447). A transaction writes the partition's changelog
// records and, for input, its next offset; anything that goes wrong is reported as a
// typed error saying whether the transaction certainly did not commit, and the
// producer is then spent: kafkajs cannot begin another transaction after a failed one
// reliably (it stays COMMITTING, and after an aborted send its sequence numbers may
// repeat ones the broker has seen), so the owner opens a new producer, which fences
// this one and lets the coordinator finish whatever it left.
import { isProducerFenced } from '../platform/kafka-errors.js';
import type { KafkaPort, PartitionAck, Transaction, TransactionalProducer } from '../platform/kafka-port.js';

/** The transactional id of an input partition: `<group>-<deliveries topic>-<partition>`. */
export function transactionalIdFor(groupId: string, deliveriesTopic: string, partition: number): string {
  return `${groupId}-${deliveriesTopic}-${partition}`;
}

/** A newer producer took this transactional id (or the broker expired our transaction). */
export class ProducerFencedError extends Error {
  constructor(transactionalId: string, options?: ErrorOptions) {
    super(`producer ${transactionalId} was fenced by a newer one`, options);
    this.name = 'ProducerFencedError';
  }
}

/**
 * A transaction that failed. `aborted`: it never reached its commit request, so it
 * did not commit. `unknown`: its commit request failed, so it may or may not have
 * committed; the next owner learns which from the changelogs and offsets.
 */
export class TransactionFailedError extends Error {
  constructor(
    readonly outcome: 'aborted' | 'unknown',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransactionFailedError';
  }
}

/** Records for the changelog partitions of this input partition, per topic. */
export type ChangelogBatch = ReadonlyMap<string, ReadonlyArray<{ key: string; value: Buffer | null }>>;

export interface InputOffset {
  groupId: string;
  topic: string;
  partition: number;
  /** The next offset to consume. */
  offset: bigint;
}

export class PartitionProducer {
  private readonly producer: TransactionalProducer;
  private spent = false;

  constructor(
    kafka: KafkaPort,
    readonly transactionalId: string,
    private readonly partition: number,
    transactionTimeoutMs: number,
  ) {
    this.producer = kafka.transactionalProducer({
      transactionalId,
      transactionTimeoutMs,
      // The broker answers CONCURRENT_TRANSACTIONS to the next transaction's first
      // request until the last one's markers are written, a few ms: retry quickly, as
      // Java's client does (20 ms), and long enough to ride out a leader election.
      retry: { retries: 15, initialRetryTimeMs: 5, maxRetryTimeMs: 2000 },
    });
  }

  /**
   * Connects and takes the transactional id. Once this resolves, the previous owner is
   * fenced and the coordinator has finished its open transaction (committed if its
   * commit was under way, aborted otherwise).
   */
  async init(): Promise<void> {
    try {
      await this.producer.init();
    } catch (error) {
      this.spent = true;
      throw this.classify(error, 'aborted', 'taking the transactional id');
    }
  }

  /**
   * One transaction: the changelog records (each to this input partition's number)
   * and the input offset, if given. Resolves with the next offset of every changelog
   * written, once committed.
   */
  async commit(batch: ChangelogBatch, input: InputOffset | undefined): Promise<Map<string, bigint>> {
    if (this.spent) throw new Error(`producer ${this.transactionalId} is spent; open a new one`);
    const next = new Map<string, bigint>();
    let transaction: Transaction;
    try {
      transaction = await this.producer.begin();
    } catch (error) {
      this.spent = true;
      throw this.classify(error, 'aborted', 'beginning a transaction');
    }
    try {
      if (batch.size > 0) {
        const acks = await transaction.send(
          [...batch].map(([topic, messages]) => ({
            topic,
            records: messages.map((m) => ({ key: m.key, value: m.value, partition: this.partition })),
          })),
        );
        for (const [topic, messages] of batch) {
          const base = baseOffsetOf(acks, topic, this.partition);
          if (base === undefined) {
            // Never commit without records Kafka did not acknowledge.
            throw new Error(`Kafka did not acknowledge ${topic}/${this.partition} in the transaction`);
          }
          next.set(topic, base + BigInt(messages.length));
        }
      }
      if (input) {
        await transaction.sendOffsets(input);
      }
    } catch (error) {
      this.spent = true;
      await transaction.abort().catch(() => undefined);
      throw this.classify(error, 'aborted', 'writing the transaction');
    }
    try {
      await transaction.commit();
    } catch (error) {
      this.spent = true;
      throw this.classify(error, 'unknown', 'committing');
    }
    return next;
  }

  private classify(error: unknown, outcome: 'aborted' | 'unknown', doing: string): Error {
    if (isProducerFenced(error)) return new ProducerFencedError(this.transactionalId, { cause: error });
    return new TransactionFailedError(
      outcome,
      `transaction of ${this.transactionalId} failed ${doing}: ${(error as Error).message}`,
      { cause: error },
    );
  }

  async close(): Promise<void> {
    this.spent = true;
    await this.producer.disconnect().catch(() => undefined);
  }
}

function baseOffsetOf(acks: readonly PartitionAck[], topic: string, partition: number): bigint | undefined {
  return acks.find((a) => a.topic === topic && a.partition === partition)?.baseOffset;
}
