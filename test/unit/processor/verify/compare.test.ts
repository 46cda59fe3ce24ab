import { describe, expect, it } from 'vitest';
import { comparePartition, emptyComparison, hasDifferences } from '../../../../processor/verify/compare.js';
import type { AggregateValue } from '../../../../schemas/model.js';

const counter = (value: number): AggregateValue => ({
  kind: 'counter',
  name: 'github_actions_jobs_completed_total',
  labels: { repository: 'o/r' },
  value,
});
const gauge = (value: number): AggregateValue => ({
  kind: 'gauge',
  name: 'github_actions_jobs',
  labels: { status: 'queued' },
  value,
  members: value,
  emptySince: value === 0 ? 5 : null,
});
const histogram = (count: number, sum: number, buckets: number[]): AggregateValue => ({
  kind: 'histogram',
  name: 'github_actions_job_duration_seconds',
  labels: { repository: 'o/r' },
  bucketCounts: buckets,
  sum,
  count,
});

function compare(
  live: Record<string, AggregateValue>,
  recomputed: Record<string, AggregateValue>,
  unsettled: string[] = [],
) {
  const c = emptyComparison();
  comparePartition(
    c,
    4,
    new Map(Object.entries(live)),
    new Map(Object.entries(recomputed)),
    new Set(unsettled),
    10,
  );
  return c;
}

describe('comparePartition', () => {
  it('counts equal series of every kind as equal', () => {
    const same = { c: counter(3), g: gauge(2), h: histogram(2, 7.5, [1, 1, 0]) };
    const c = compare(same, { ...same });
    expect(c).toMatchObject({ compared: 3, equal: 3, different: 0, onlyLive: 0, onlyRecomputed: 0 });
    expect(hasDifferences(c)).toBe(false);
  });

  it('names a different value with both sides', () => {
    const c = compare({ c: counter(4) }, { c: counter(3) });
    expect(c.different).toBe(1);
    expect(c.differences).toEqual([
      {
        partition: 4,
        kind: 'different',
        name: 'github_actions_jobs_completed_total',
        labels: { repository: 'o/r' },
        live: '4',
        recomputed: '3',
      },
    ]);
  });

  it('finds a histogram differing only in its buckets', () => {
    const c = compare({ h: histogram(2, 7.5, [2, 0, 0]) }, { h: histogram(2, 7.5, [1, 1, 0]) });
    expect(c.different).toBe(1);
    expect(c.differences[0]?.live).toBe('count=2 sum=7.5 buckets=[2,0,0]');
  });

  it('tells series on one side only apart', () => {
    const c = compare({ a: counter(1) }, { b: counter(1) });
    expect(c).toMatchObject({ compared: 2, onlyLive: 1, onlyRecomputed: 1 });
    expect(c.differences.map((d) => [d.kind, d.live, d.recomputed])).toEqual([
      ['only_live', '1', null],
      ['only_recomputed', null, '1'],
    ]);
  });

  it('reads a gauge at 0 as no gauge (an emptied series housekeeping may have dropped)', () => {
    expect(compare({ g: gauge(0) }, {})).toMatchObject({ equal: 1, onlyLive: 0 });
    expect(compare({}, { g: gauge(0) })).toMatchObject({ equal: 1, onlyRecomputed: 0 });
    expect(compare({}, { g: gauge(1) })).toMatchObject({ onlyRecomputed: 1 });
  });

  it('counts an unsettled gauge apart, never an unsettled counter', () => {
    expect(compare({ g: gauge(1) }, { g: gauge(2) }, ['g'])).toMatchObject({ unsettled: 1, different: 0 });
    expect(compare({ c: counter(1) }, { c: counter(2) }, ['c'])).toMatchObject({
      unsettled: 0,
      different: 1,
    });
  });

  it('counts every difference but lists at most the limit', () => {
    const live = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, counter(i + 1)]));
    const c = compare(live, {});
    expect(c.onlyLive).toBe(15);
    expect(c.differences).toHaveLength(10);
  });
});
