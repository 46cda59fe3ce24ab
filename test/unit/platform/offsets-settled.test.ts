// Offsets are retried while partition leadership settles (a new topic, a broker
// restart), and only then: any other error surfaces at once.
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { fetchTopicOffsetsSettled, type KafkaAdmin } from '../../../platform/kafka.js';

const protocolError = (type: string) => {
  const error = new kafkajs.KafkaJSProtocolError(`broker said ${type}`);
  Object.assign(error, { type });
  return error;
};

function adminAnswering(...answers: Array<Error | Array<{ partition: number; high: string }>>) {
  let calls = 0;
  const admin = {
    fetchTopicOffsets: async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer.map((a) => ({ ...a, offset: a.high, low: '0' }));
    },
  } as unknown as KafkaAdmin;
  return { admin, calls: () => calls };
}

describe('fetchTopicOffsetsSettled', () => {
  it('retries NOT_LEADER_FOR_PARTITION and UNKNOWN_TOPIC_OR_PARTITION until the leader answers', async () => {
    const { admin, calls } = adminAnswering(
      protocolError('NOT_LEADER_FOR_PARTITION'),
      protocolError('UNKNOWN_TOPIC_OR_PARTITION'),
      [{ partition: 0, high: '42' }],
    );
    const offsets = await fetchTopicOffsetsSettled(admin, 't', 5000);
    expect(offsets.map((o) => o.high)).toEqual(['42']);
    expect(calls()).toBe(3);
  });

  it('throws any other error at once', async () => {
    const { admin, calls } = adminAnswering(protocolError('TOPIC_AUTHORIZATION_FAILED'));
    await expect(fetchTopicOffsetsSettled(admin, 't', 5000)).rejects.toThrow(/TOPIC_AUTHORIZATION_FAILED/);
    expect(calls()).toBe(1);
  });

  it('gives up after its deadline, naming the topic', async () => {
    const { admin } = adminAnswering(protocolError('LEADER_NOT_AVAILABLE'));
    await expect(fetchTopicOffsetsSettled(admin, 'runstream.deliveries', 300)).rejects.toThrow(
      /offsets of runstream.deliveries unavailable after 300 ms/,
    );
  });
});
