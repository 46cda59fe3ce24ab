// The role's admin client for offsets retries while the cluster settles (a leader or
// coordinator moving, a broker restarting), and only then: any other error surfaces at
// once, and a call gives up after its deadline, naming what it asked.
import { describe, expect, it } from 'vitest';
import type { KafkaPort } from '../../../platform/kafka-port.js';
import { callRounds, isTransientKafkaError, Offsets } from '../../../platform/offsets.js';
import { clientErrors } from '../../support/kafkajs.js';

const protocolError = (type: string, retriable: boolean) => {
  const error = new clientErrors.ProtocolError(`broker said ${type}`);
  Object.assign(error, { type, retriable });
  return error;
};

function kafkaAnswering(...answers: Array<Error | Array<{ partition: number; high: string }>>) {
  let calls = 0;
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    partitionOffsets: async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer.map((a) => ({ partition: a.partition, low: 0n, high: BigInt(a.high) }));
    },
  };
  // Only the admin's partition offsets are asked.
  return { kafka: { admin: () => admin } as unknown as KafkaPort, calls: () => calls };
}

describe('Offsets', () => {
  it('retries what the client calls retriable (leadership moving, a lost connection) until it answers', async () => {
    const { kafka, calls } = kafkaAnswering(
      protocolError('NOT_LEADER_FOR_PARTITION', true),
      new clientErrors.ConnectionError('Connection closed'),
      protocolError('UNKNOWN_TOPIC_OR_PARTITION', true),
      [{ partition: 0, high: '42' }],
    );
    const offsets = new Offsets(kafka, 5000);
    expect(await offsets.ends('t')).toEqual(new Map([[0, { low: 0n, high: 42n }]]));
    expect(calls()).toBe(4);
  });

  it('throws any other error at once', async () => {
    const { kafka, calls } = kafkaAnswering(protocolError('TOPIC_AUTHORIZATION_FAILED', false));
    await expect(new Offsets(kafka, 5000).ends('t')).rejects.toThrow(/TOPIC_AUTHORIZATION_FAILED/);
    expect(calls()).toBe(1);
  });

  it('gives up after its deadline, naming what it asked', async () => {
    const { kafka } = kafkaAnswering(protocolError('LEADER_NOT_AVAILABLE', true));
    await expect(new Offsets(kafka, 300).ends('runstream.deliveries')).rejects.toThrow(
      /offsets of runstream.deliveries: broker said LEADER_NOT_AVAILABLE/,
    );
  });

  it('sees retriable causes through the client\u2019s wrappers', () => {
    // As kafkajs' retrier wraps an error it bails on.
    const cause = protocolError('GROUP_COORDINATOR_NOT_AVAILABLE', true);
    const wrapped = Object.assign(new clientErrors.NonRetriableError(cause), { cause });
    expect(isTransientKafkaError(wrapped)).toBe(true);
    expect(isTransientKafkaError(new Error('plain'))).toBe(false);
  });

  it('shares one request among callers asking at once, and answers a later caller with a later request', async () => {
    let calls = 0;
    let release: (() => void) | undefined;
    const admin = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      partitionOffsets: async () => {
        const call = ++calls;
        await new Promise<void>((r) => {
          release = r;
        });
        return [{ partition: 0, high: BigInt(call), low: 0n }];
      },
    };
    const offsets = new Offsets({ admin: () => admin } as unknown as KafkaPort, 5000);
    const first = offsets.ends('t');
    const second = offsets.ends('t');
    await new Promise((r) => setTimeout(r, 10));
    // Asked while the first request is in flight: it must not get that request's answer.
    const third = offsets.ends('t');
    release!();
    expect((await first).get(0)?.high).toBe(1n);
    expect((await second).get(0)?.high).toBe(1n);
    await new Promise((r) => setTimeout(r, 10));
    release!();
    expect((await third).get(0)?.high).toBe(2n);
    expect(calls).toBe(2);
  });

  it('asks about topics it knows all at once, and about a topic new to the client alone first', async () => {
    let inFlight = 0;
    let most = 0;
    const asked: string[] = [];
    const admin = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      partitionOffsets: async (topic: string) => {
        asked.push(topic);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight -= 1;
        return [{ partition: 0, high: 1n, low: 0n }];
      },
      committedOffsets: async () => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight -= 1;
        return [{ partition: 0, offset: 1n }];
      },
    };
    const offsets = new Offsets({ admin: () => admin } as unknown as KafkaPort, 5000);
    const topics = ['a', 'b', 'c'];
    await Promise.all([...topics.map((t) => offsets.ends(t)), offsets.committed('g', 'a')]);
    // New to the client: one after the other (kafkajs' admin would race its metadata refresh).
    expect(most).toBe(1);
    expect(asked).toEqual(topics);
    await Promise.all([...topics.map((t) => offsets.ends(t)), offsets.committed('g', 'a')]);
    expect(most).toBe(4);
  });
  it('does not hold a call for a known topic behind one in flight, but holds a call for a new topic', async () => {
    const asked: string[] = [];
    const gates = new Map<string, () => void>();
    const admin = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      partitionOffsets: async (topic: string) => {
        asked.push(topic);
        await new Promise<void>((r) => gates.set(topic, r));
        return [{ partition: 0, high: 1n, low: 0n }];
      },
    };
    const offsets = new Offsets({ admin: () => admin } as unknown as KafkaPort, 5000);
    const tick = () => new Promise((r) => setTimeout(r, 5));
    for (const topic of ['a', 'b']) {
      const done = offsets.ends(topic);
      await tick();
      gates.get(topic)!();
      await done;
    }
    asked.length = 0;
    const slow = offsets.ends('a');
    await tick();
    const quick = offsets.ends('b');
    await tick();
    expect(asked).toEqual(['a', 'b']); // b went while a was in flight
    gates.get('b')!();
    await quick;
    const fresh = offsets.ends('c');
    await tick();
    expect(asked).toEqual(['a', 'b']); // c (new to the client) waits for a
    gates.get('a')!();
    await slow;
    await tick();
    expect(asked).toEqual(['a', 'b', 'c']);
    gates.get('c')!();
    await fresh;
  });

  it('ends a call retrying a broker that is gone at close, and makes no client after it', async () => {
    // A role's lag update in flight when the role stops, its broker gone: it retried for
    // a minute on new clients that nobody disconnected, and kept the process alive.
    const made: Array<{ connected: boolean; disconnected: boolean }> = [];
    const kafka = {
      admin: () => {
        const state = { connected: false, disconnected: false };
        made.push(state);
        return {
          connect: async () => {
            throw new clientErrors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9092');
          },
          disconnect: async () => {
            state.disconnected = true;
          },
        };
      },
    } as unknown as KafkaPort;
    const offsets = new Offsets(kafka, 60_000);
    const call = offsets.ends('t');
    const failed = call.then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await new Promise((r) => setTimeout(r, 50)); // a retry or two, then waiting for the next
    const makingAtClose = made.length;
    const started = Date.now();
    await offsets.close();
    expect(await failed).toMatch(/^offsets of t: /);
    expect(Date.now() - started).toBeLessThan(500);
    await new Promise((r) => setTimeout(r, 300));
    expect(made.length).toBe(makingAtClose);
  });

  it('disconnects at close a client still connecting', async () => {
    let disconnected = false;
    let connected: (() => void) | undefined;
    const admin = {
      connect: () =>
        new Promise<void>((resolve) => {
          connected = resolve;
        }),
      disconnect: async () => {
        disconnected = true;
        connected?.();
      },
      partitionOffsets: async () => [{ partition: 0, high: 1n, low: 0n }],
    };
    const offsets = new Offsets({ admin: () => admin } as unknown as KafkaPort, 5000);
    const call = offsets.ends('t').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 5));
    await offsets.close();
    expect(disconnected).toBe(true);
    await call;
  });
});

describe('callRounds', () => {
  const call = (name: string, ...topics: string[]) => ({ name, topics });
  it('runs each call for a topic new to the client alone, then every other call in one round', () => {
    const rounds = callRounds(
      [
        call('ends a', 'a'),
        call('ends x', 'x'),
        call('committed a', 'a'),
        call('group'),
        call('ends y', 'y'),
      ],
      new Set(['a']),
    );
    expect(rounds.map((r) => r.map((c) => c.name))).toEqual([
      ['ends x'],
      ['ends y'],
      ['ends a', 'committed a', 'group'],
    ]);
    expect(callRounds([], new Set())).toEqual([]);
  });
});
