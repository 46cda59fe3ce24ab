// The transactional producer of one input partition (Kafka Streams' StreamsProducer).
// One transactional id per input partition fences a zombie previous owner (kafkajs has
// no consumer-group fencing, KIP-447). A transaction writes the partition's changelog
// records and, for input, its next offset; anything that goes wrong is reported as a
// typed error saying whether the transaction certainly did not commit, and the
// producer is then spent: kafkajs cannot begin another transaction after a failed one
// reliably (it stays COMMITTING, and after an aborted send its sequence numbers may
// repeat ones the broker has seen), so the owner opens a new producer, which fences
// this one and lets the coordinator finish whatever it left.
import { isProducerFenced, uncertainRequestOf } from '../platform/kafka-errors.js';
import type { KafkaPort, PartitionAck, Transaction, TransactionalProducer } from '../platform/kafka-port.js';
import { type ChangelogBatch, sendsWithin } from './changelog-sends.js';

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

/** The request of a transaction that failed, as far as this producer knows. */
const TRANSACTION_REQUESTS = [
  'InitProducerId',
  'AddPartitionsToTxn or Produce',
  'AddOffsetsToTxn',
  'TxnOffsetCommit',
  'AddOffsetsToTxn or TxnOffsetCommit',
  'EndTxn (commit)',
  'EndTxn (abort)',
] as const;

export type TransactionRequest = (typeof TRANSACTION_REQUESTS)[number];

function isTransactionRequest(name: string | undefined): name is TransactionRequest {
  return (TRANSACTION_REQUESTS as readonly string[]).includes(name ?? '');
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
    readonly belief: TransactionBelief,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TransactionFailedError';
  }
}

/** What the producer believed when a transaction failed: for the warn line and the test. */
export interface TransactionBelief {
  transactionalId: string;
  /** Which request failed (the patched kafkajs names it when its outcome is uncertain). */
  request: TransactionRequest;
  /** The producer epoch the failed request carried, when kafkajs reports it. */
  producerEpoch?: number;
  /**
   * A request may still reach the broker (a timeout, or a connection lost with it out),
   * so nothing more was sent with this producer epoch, not even an abort: the next
   * producer's InitProducerId bumps the epoch, which fences that request and aborts the
   * transaction if it is still open.
   */
  uncertain: boolean;
}

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
      // Java's client does (20 ms), and long enough to ride out a leader election. The
      // transaction requests themselves (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
      // InitProducerId) retry at this pace too (the kafkajs patch's txn-producer-retry).
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
      throw this.classify(error, 'aborted', 'InitProducerId');
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
      throw this.classify(error, 'aborted', 'InitProducerId');
    }
    let sentBatch = false;
    try {
      // In sends within a byte budget (processor/changelog-sends.ts): one record batch
      // past the topic's max.message.bytes would be refused on every retry.
      for (const send of sendsWithin(batch)) {
        const acks = await transaction.send(
          [...send].map(([topic, records]) => ({
            topic,
            records: records.map((m) => ({ key: m.key, value: m.value, partition: this.partition })),
          })),
        );
        for (const [topic, records] of send) {
          const base = baseOffsetOf(acks, topic, this.partition);
          if (base === undefined) {
            // Never commit without records Kafka did not acknowledge.
            throw new Error(`Kafka did not acknowledge ${topic}/${this.partition} in the transaction`);
          }
          next.set(topic, base + BigInt(records.length));
        }
        sentBatch = true;
      }
      if (input) {
        await transaction.sendOffsets(input);
      }
    } catch (error) {
      this.spent = true;
      // An abort with this epoch would end the transaction before a delayed request of it
      // lands, which then opens a transaction nobody ends; the next producer's epoch bump
      // aborts it instead, and fences the delayed request.
      if (!uncertainRequestOf(error)) await transaction.abort().catch(() => undefined);
      throw this.classify(
        error,
        'aborted',
        batch.size > 0 && !sentBatch ? 'AddPartitionsToTxn or Produce' : 'AddOffsetsToTxn or TxnOffsetCommit',
      );
    }
    try {
      await transaction.commit();
    } catch (error) {
      this.spent = true;
      throw this.classify(error, 'unknown', 'EndTxn (commit)');
    }
    return next;
  }

  private classify(error: unknown, outcome: 'aborted' | 'unknown', request: TransactionRequest): Error {
    if (isProducerFenced(error)) return new ProducerFencedError(this.transactionalId, { cause: error });
    const reported = uncertainRequestOf(error);
    const belief: TransactionBelief = {
      transactionalId: this.transactionalId,
      request: isTransactionRequest(reported?.request) ? reported.request : request,
      ...(reported?.producerEpoch !== undefined ? { producerEpoch: reported.producerEpoch } : {}),
      uncertain: reported !== undefined,
    };
    return new TransactionFailedError(
      outcome,
      `transaction of ${this.transactionalId} failed (${belief.request}, outcome ${outcome}): ${(error as Error).message}`,
      belief,
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
