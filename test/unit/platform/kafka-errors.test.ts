// A group coordinator still loading or moving is worth asking again, wrapped or not;
// a refusal or any other error is not.
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isCoordinatorSettling } from '../../../platform/kafka-errors.js';

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
