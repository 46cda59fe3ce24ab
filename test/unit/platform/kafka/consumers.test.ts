// The consumers' adapters stop for good when disconnected. kafkajs restarts a consumer
// that crashed on a retriable error (a broker gone), and its disconnect() cancels only a
// restart already scheduled: a crash ending after it (a restart under way, retrying a
// broker that is gone) scheduled another, and the process never exited.
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkajsGroupConsumer } from '../../../../platform/kafka/group-consumer.js';
import { KafkajsPartitionConsumer } from '../../../../platform/kafka/partition-consumer.js';
import type { ConsumerCrash } from '../../../../platform/kafka-port.js';

interface RetryConfig {
  retries: number;
  restartOnFailure?: (error: Error) => Promise<boolean>;
}

/** A kafkajs client whose one consumer records its config and lets the test emit its crashes. */
function fakeClient() {
  const listeners = new Map<string, Array<(event: { payload: unknown }) => void>>();
  let config: { retry?: RetryConfig } | undefined;
  const consumer = {
    events: { CRASH: 'consumer.crash', GROUP_JOIN: 'consumer.group_join', END_BATCH_PROCESS: 'end' },
    on(event: string, listener: (event: { payload: unknown }) => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    disconnect: async () => undefined,
  };
  const client = {
    consumer(given: { retry?: RetryConfig }) {
      config = given;
      return consumer;
    },
  } as unknown as Kafka;
  return {
    client,
    /** What kafkajs decides when the consumer crashes on a retriable error. */
    restarts: () => config?.retry?.restartOnFailure?.(new Error('Connection error: ECONNREFUSED')) ?? true,
    crash: (error: Error) => {
      for (const listener of listeners.get(consumer.events.CRASH) ?? []) {
        listener({ payload: { error, restart: true } });
      }
    },
  };
}

const assignor = { name: 'test', describe: () => ({ owned: [], warm: [] }), assign: () => new Map() };

describe('KafkajsGroupConsumer', () => {
  const options = {
    groupId: 'g',
    topic: 't',
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 60_000,
    heartbeatIntervalMs: 3000,
    maxBytesPerPartition: 1_048_576,
    maxWaitTimeMs: 100,
    assignor,
    retries: 10,
  };

  it('lets kafkajs restart it after a crash until it is disconnected, never after', async () => {
    const fake = fakeClient();
    const consumer = new KafkajsGroupConsumer(fake.client, options);
    expect(await fake.restarts()).toBe(true);
    await consumer.disconnect();
    expect(await fake.restarts()).toBe(false);
  });

  it('reports crashes until it is disconnected; a crash while it stops is how it stopped', async () => {
    const fake = fakeClient();
    const consumer = new KafkajsGroupConsumer(fake.client, options);
    const crashes: ConsumerCrash[] = [];
    consumer.onCrash((crash) => crashes.push(crash));
    fake.crash(new Error('before'));
    await consumer.disconnect();
    fake.crash(new Error('after'));
    expect(crashes.map((c) => (c.error as Error).message)).toEqual(['before']);
  });
});

describe('KafkajsPartitionConsumer', () => {
  it('lets kafkajs restart it after a crash until it is disconnected, never after', async () => {
    const fake = fakeClient();
    const consumer = new KafkajsPartitionConsumer(fake.client, {
      name: 'reader',
      partitions: new Map([['t', [0, 1]]]),
      maxWaitTimeMs: 200,
      retries: 10,
    });
    expect(await fake.restarts()).toBe(true);
    await consumer.disconnect();
    expect(await fake.restarts()).toBe(false);
  });
});
