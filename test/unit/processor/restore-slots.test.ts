// How many large restores run at once: a counting semaphore whose waiters can leave, and
// the count of records a restore will read that decides whether it needs a slot.
import { describe, expect, it } from 'vitest';
import { RestoreSlots, recordsToRead, SMALL_RESTORE_RECORDS } from '../../../processor/restore-slots.js';
import type { ChangelogKind } from '../../../schemas/changelog.js';

const ends = (high: Partial<Record<ChangelogKind, bigint>>) =>
  new Map(Object.entries(high).map(([k, v]) => [k as ChangelogKind, { high: v! }]));

describe('recordsToRead', () => {
  it('sums what lies between each start and its end, a changelog read to its end counting nothing', () => {
    const from = new Map<ChangelogKind, bigint>([
      ['dedupe', 0n],
      ['runs', 40n],
      ['jobs', 100n],
      ['aggregates', 7n],
    ]);
    expect(recordsToRead(from, ends({ dedupe: 5n, runs: 50n, jobs: 100n, aggregates: 3n }))).toBe(15n);
  });

  it('counts a changelog without a start from its beginning', () => {
    expect(recordsToRead(new Map(), ends({ jobs: 20_001n }))).toBe(20_001n);
    expect(recordsToRead(new Map(), ends({ jobs: 20_001n })) > SMALL_RESTORE_RECORDS).toBe(true);
  });
});

describe('RestoreSlots', () => {
  const settled = async <T>(p: Promise<T>) => {
    let done = false;
    p.then(
      () => {
        done = true;
      },
      () => {
        done = true;
      },
    );
    await new Promise((r) => setImmediate(r));
    return done;
  };

  it('lets `size` holders in at once, the next in order as each releases', async () => {
    const slots = new RestoreSlots(2);
    const signal = new AbortController().signal;
    const a = await slots.acquire(signal);
    const b = await slots.acquire(signal);
    const c = slots.acquire(signal);
    const d = slots.acquire(signal);
    expect(await settled(c)).toBe(false);
    expect(slots.queued).toBe(2);
    a();
    a(); // a second release of the same slot frees nothing more
    expect(await settled(c)).toBe(true);
    expect(await settled(d)).toBe(false);
    b();
    expect(await settled(d)).toBe(true);
    (await c)();
    (await d)();
    // All free again: two at once, not more.
    await slots.acquire(signal);
    await slots.acquire(signal);
    expect(await settled(slots.acquire(signal))).toBe(false);
  });

  it('drops a waiter whose signal aborts, which then takes no slot', async () => {
    const slots = new RestoreSlots(1);
    const held = await slots.acquire(new AbortController().signal);
    const leaving = new AbortController();
    const left = slots.acquire(leaving.signal);
    const staying = slots.acquire(new AbortController().signal);
    leaving.abort(new Error('closed'));
    await expect(left).rejects.toThrow('closed');
    expect(slots.queued).toBe(1);
    held();
    expect(await settled(staying)).toBe(true);
  });

  it('refuses at once when the signal has already aborted, and a size below one', async () => {
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    await expect(new RestoreSlots(1).acquire(aborted.signal)).rejects.toThrow('gone');
    expect(() => new RestoreSlots(0)).toThrow(RangeError);
  });
});
