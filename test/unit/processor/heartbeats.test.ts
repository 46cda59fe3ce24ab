// Heartbeats while a transaction is in flight: kafkajs heartbeats only between batches, so
// a slow transaction must not let a short session expire.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { heartbeatIntervalMs, withHeartbeats } from '../../../processor/heartbeats.js';

describe('heartbeatIntervalMs', () => {
  it('is 100 ms, or a third of a shorter session', () => {
    expect(heartbeatIntervalMs(6000)).toBe(100);
    expect(heartbeatIntervalMs(2000)).toBe(100);
    expect(heartbeatIntervalMs(240)).toBe(80);
  });
});

describe('withHeartbeats', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function slowWork<T>(ms: number, outcome: () => T): Promise<T> {
    return new Promise((resolve, reject) =>
      setTimeout(() => {
        try {
          resolve(outcome());
        } catch (error) {
          reject(error);
        }
      }, ms),
    );
  }

  it('heartbeats every interval while the work runs, and stops when it settles', async () => {
    const heartbeat = vi.fn(async () => undefined);
    const done = withHeartbeats(
      slowWork(1100, () => 'committed'),
      heartbeat,
      250,
    );
    await vi.advanceTimersByTimeAsync(1100);
    await expect(done).resolves.toBe('committed');
    expect(heartbeat).toHaveBeenCalledTimes(4);
    await vi.advanceTimersByTimeAsync(2000);
    expect(heartbeat).toHaveBeenCalledTimes(4);
  });

  it('leaves a failed heartbeat (a rebalance) to the caller, and the work runs to its end', async () => {
    const heartbeat = vi.fn(async () => {
      throw new Error('The group is rebalancing, so a rejoin is needed');
    });
    const done = withHeartbeats(
      slowWork(600, () => 'committed'),
      heartbeat,
      250,
    );
    await vi.advanceTimersByTimeAsync(600);
    await expect(done).resolves.toBe('committed');
    expect(heartbeat).toHaveBeenCalledTimes(2);
  });

  it('passes the work failure on, and stops heartbeating', async () => {
    const heartbeat = vi.fn(async () => undefined);
    const done = withHeartbeats(
      slowWork(300, () => {
        throw new Error('transaction aborted');
      }),
      heartbeat,
      250,
    );
    const settled = expect(done).rejects.toThrow('transaction aborted');
    await vi.advanceTimersByTimeAsync(300);
    await settled;
    await vi.advanceTimersByTimeAsync(1000);
    expect(heartbeat).toHaveBeenCalledTimes(1);
  });
});
