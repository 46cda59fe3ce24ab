// A transaction's changelog records split into sends within a byte budget: nothing lost,
// nothing doubled, each topic's order kept, every send within the budget (a record larger
// than the budget alone), checked against a model that just concatenates.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ChangelogBatch,
  recordBytes,
  SEND_BUDGET_BYTES,
  type SendRecord,
  sendsWithin,
} from '../../../processor/changelog-sends.js';

const record = (key: string, size: number): SendRecord => ({ key, value: Buffer.alloc(size) });

describe('sendsWithin', () => {
  it('keeps a small transaction in one send', () => {
    const batch: ChangelogBatch = new Map([
      ['runs', [record('a', 10)]],
      ['jobs', [record('b', 10), { key: 'c', value: null }]],
    ]);
    expect(sendsWithin(batch)).toEqual([batch]);
  });

  it('splits a transaction past the budget into sends within it, in order', () => {
    const jobs = Array.from({ length: 300 }, (_, i) => record(`job-${i}`, 10_000));
    const sends = sendsWithin(new Map([['jobs', jobs]]));
    expect(sends.length).toBe(Math.ceil((300 * recordBytes(jobs[0]!)) / SEND_BUDGET_BYTES));
    for (const send of sends) {
      expect([...send.values()].flat().reduce((n, r) => n + recordBytes(r), 0)).toBeLessThanOrEqual(
        SEND_BUDGET_BYTES,
      );
    }
    expect(sends.flatMap((s) => s.get('jobs') ?? [])).toEqual(jobs);
  });

  it('sends a record larger than the budget alone', () => {
    const big = record('big', SEND_BUDGET_BYTES * 2);
    const sends = sendsWithin(new Map([['aggregates', [record('x', 1), big, record('y', 1)]]]));
    expect(sends.map((s) => s.get('aggregates')!.map((r) => r.key))).toEqual([['x'], ['big'], ['y']]);
  });

  it('loses, doubles and reorders nothing, whatever the sizes and budget', () => {
    const topic = fc.constantFrom('dedupe', 'runs', 'jobs', 'aggregates');
    const rec = fc.record({ key: fc.string({ maxLength: 20 }), size: fc.nat(5_000), tomb: fc.boolean() });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(topic, rec), { maxLength: 200 }),
        fc.integer({ min: 1, max: 20_000 }),
        (items, budget) => {
          const batch = new Map<string, SendRecord[]>();
          for (const [t, r] of items) {
            const list = batch.get(t) ?? [];
            list.push({ key: r.key, value: r.tomb ? null : Buffer.alloc(r.size) });
            batch.set(t, list);
          }
          const sends = sendsWithin(batch, budget);
          for (const [t, records] of batch) expect(sends.flatMap((s) => s.get(t) ?? [])).toEqual(records);
          for (const send of sends) {
            const all = [...send.values()].flat();
            expect(all.length).toBeGreaterThan(0);
            const bytes = all.reduce((n, r) => n + recordBytes(r), 0);
            if (all.length > 1) expect(bytes).toBeLessThanOrEqual(budget);
          }
        },
      ),
    );
  });
});
