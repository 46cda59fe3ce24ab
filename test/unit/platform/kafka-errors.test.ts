// A group coordinator still loading or moving is worth asking again, wrapped or not;
// a refusal or any other error is not. A refused session timeout is told apart.
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isCoordinatorSettling, isSessionTimeoutRefused } from '../../../platform/kafka-errors.js';

const protocolError = (type: string) =>
  Object.assign(new kafkajs.KafkaJSProtocolError(`broker said ${type}`), { type });

describe('isCoordinatorSettling', () => {
  it('knows a coordinator loading or moving, also behind the retries kafkajs gave up on', () => {
    for (const type of ['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS']) {
      const cause = protocolError(type);
      expect(isCoordinatorSettling(cause)).toBe(true);
      expect(
        isCoordinatorSettling(Object.assign(new kafkajs.KafkaJSNonRetriableError(cause), { cause })),
      ).toBe(true);
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
    expect(
      isSessionTimeoutRefused(Object.assign(new kafkajs.KafkaJSNonRetriableError(cause), { cause })),
    ).toBe(true);
    expect(isSessionTimeoutRefused(protocolError('REBALANCE_IN_PROGRESS'))).toBe(false);
    expect(isSessionTimeoutRefused(new Error('INVALID_SESSION_TIMEOUT'))).toBe(false);
  });
});
