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

/** The request of a transaction that failed, as far as this producer knows. */
export type TransactionRequest =
  | 'InitProducerId'
  | 'AddPartitionsToTxn or Produce'
  | 'AddOffsetsToTxn'
  | 'TxnOffsetCommit'
  | 'AddOffsetsToTxn or TxnOffsetCommit'
  | 'EndTxn (commit)'
  | 'EndTxn (abort)';

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
      if (!isUncertain(error)) await transaction.abort().catch(() => undefined);
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
      request: reported?.request ?? request,
      ...(reported?.producerEpoch !== undefined ? { producerEpoch: reported.producerEpoch } : {}),
      uncertain: isUncertain(error),
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

/** The errors after which a request may still reach the broker (kafkajs' names). */
const UNCERTAIN = new Set([
  'KafkaJSUncertainRequestError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionClosedError',
  'KafkaJSConnectionError',
]);

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && chain.length < 10; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

function isUncertain(error: unknown): boolean {
  return causes(error).some((e) => UNCERTAIN.has((e as { name?: string }).name ?? ''));
}

/** The patched kafkajs' report of a transaction request whose outcome it does not know. */
function uncertainRequestOf(
  error: unknown,
): { request: TransactionRequest; producerEpoch?: number } | undefined {
  const found = causes(error).find((e) => (e as { name?: string }).name === 'KafkaJSUncertainRequestError') as
    | { request?: TransactionRequest; producerEpoch?: number }
    | undefined;
  if (!found?.request) return undefined;
  return {
    request: found.request,
    ...(typeof found.producerEpoch === 'number' ? { producerEpoch: found.producerEpoch } : {}),
  };
}
