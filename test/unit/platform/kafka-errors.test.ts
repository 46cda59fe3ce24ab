// A group coordinator still loading or moving is worth asking again, wrapped or not;
// a refusal or any other error is not. A refused session timeout is told apart.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  isCoordinatorSettling,
  isProducerFenced,
  isRejoinNeeded,
  isSessionTimeoutRefused,
} from '../../../platform/kafka-errors.js';
import { clientErrors } from '../../support/kafkajs.js';

const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode(code: number): Error;
};

const protocolError = (type: string) =>
  Object.assign(new clientErrors.ProtocolError(`broker said ${type}`), { type });

describe('isCoordinatorSettling', () => {
  it('knows a coordinator loading or moving, also behind the retries kafkajs gave up on', () => {
    for (const type of ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']) {
      const cause = protocolError(type);
      expect(isCoordinatorSettling(cause)).toBe(true);
      expect(isCoordinatorSettling(Object.assign(new clientErrors.NonRetriableError(cause), { cause }))).toBe(
        true,
      );
    }
  });

  it('leaves a refusal, a missing topic and a hidden group refusal alone', () => {
    expect(isCoordinatorSettling(protocolError('GROUP_AUTHORIZATION_FAILED'))).toBe(false);
    expect(isCoordinatorSettling(protocolError('UNKNOWN_TOPIC_OR_PARTITION'))).toBe(false);
    expect(
      isCoordinatorSettling(
        Object.assign(new Error('no coordinator'), { name: 'KafkaJSGroupCoordinatorNotFound' }),
      ),
    ).toBe(false);
    expect(isCoordinatorSettling(undefined)).toBe(false);
  });
});

describe('isSessionTimeoutRefused', () => {
  it('finds the broker refusing the session timeout, also wrapped, and nothing else', () => {
    const cause = protocolError('INVALID_SESSION_TIMEOUT');
    expect(isSessionTimeoutRefused(cause)).toBe(true);
    expect(isSessionTimeoutRefused(Object.assign(new clientErrors.NonRetriableError(cause), { cause }))).toBe(
      true,
    );
    expect(isSessionTimeoutRefused(protocolError('REBALANCE_IN_PROGRESS'))).toBe(false);
    expect(isSessionTimeoutRefused(new Error('INVALID_SESSION_TIMEOUT'))).toBe(false);
  });
});

describe('isRejoinNeeded', () => {
  it('knows the heartbeat answers that make the consumer rejoin, as the broker codes them, and nothing else', () => {
    // REBALANCE_IN_PROGRESS 27, ILLEGAL_GENERATION 22, UNKNOWN_MEMBER_ID 25 (Kafka's protocol).
    for (const code of [27, 22, 25]) expect(isRejoinNeeded(createErrorFromCode(code))).toBe(true);
    expect(isRejoinNeeded(createErrorFromCode(15))).toBe(false); // COORDINATOR_NOT_AVAILABLE
    expect(isRejoinNeeded(new Error('The group is rebalancing, so a rejoin is needed'))).toBe(false);
    expect(isRejoinNeeded(undefined)).toBe(false);
  });
});

describe('isProducerFenced', () => {
  it('knows a newer producer of the transactional id, also behind the retries the client gave up on', () => {
    for (const type of ['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']) {
      expect(isProducerFenced(protocolError(type))).toBe(true);
      const cause = protocolError(type);
      expect(isProducerFenced(Object.assign(new clientErrors.NonRetriableError(cause), { cause }))).toBe(
        true,
      );
    }
    expect(isProducerFenced(protocolError('CONCURRENT_TRANSACTIONS'))).toBe(false);
    expect(isProducerFenced(new Error('Connection closed'))).toBe(false);
  });
});
