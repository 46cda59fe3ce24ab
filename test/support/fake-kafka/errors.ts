// The errors the fake broker answers with, shaped as platform/kafka-port.ts' error contract
// says (KafkaErrorFacts): Kafka's error name in `type`, its `retriable`; a request without
// an answer (timeout, lost connection) is retriable with no type.

export class FakeKafkaError extends Error {
  constructor(
    message: string,
    readonly type: string | undefined,
    readonly retriable: boolean,
    /** The request may still be applied (a timeout): its outcome is unknown. */
    readonly uncertain?: boolean,
  ) {
    super(message);
    this.name = 'FakeKafkaError';
  }
}

/** A newer producer of the transactional id exists: the request's epoch is stale. */
export const fencedError = (transactionalId: string, epoch: number, current: number): FakeKafkaError =>
  new FakeKafkaError(
    `producer ${transactionalId} epoch ${epoch} fenced by epoch ${current}`,
    'PRODUCER_FENCED',
    false,
  );

/** The client gave up waiting: the broker may or may not have applied the request. */
export const timeoutError = (what: string): FakeKafkaError =>
  new FakeKafkaError(`request timed out: ${what}`, undefined, true, true);

/** A definite rejection: the coordinator moved, nothing was applied. */
export const notCoordinatorError = (what: string): FakeKafkaError =>
  new FakeKafkaError(`not the coordinator: ${what}`, 'NOT_COORDINATOR', true);

export const invalidTxnStateError = (what: string): FakeKafkaError =>
  new FakeKafkaError(`invalid transaction state: ${what}`, 'INVALID_TXN_STATE', false);

export const unknownPartitionError = (topic: string, partition: number): FakeKafkaError =>
  new FakeKafkaError(`unknown topic or partition ${topic}/${partition}`, 'UNKNOWN_TOPIC_OR_PARTITION', true);
