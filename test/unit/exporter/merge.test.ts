// The exporter's sum of a series across processor partitions: counters add, histogram
// buckets, sums and counts add, families never mix, and inputs stay untouched.
import { describe, expect, it } from 'vitest';
import { mergeAggregates } from '../../../exporter/merge.js';
import { applyDelta } from '../../../processor/core/aggregates.js';
import type { AggregateDelta } from '../../../processor/core/types.js';
import { DEFAULT_CATALOGUE } from '../../../schemas/metrics.js';
import { jobDuration } from '../../support/entities.js';

const observe = (seconds: number) => applyDelta(undefined, jobDuration(seconds), DEFAULT_CATALOGUE);

describe('mergeAggregates', () => {
  it('sums the same series across partitions', () => {
    const labels = { repository: 'o/r', runner_group: '', labels: 'x' };
    const delta = {
      kind: 'histogram',
      name: 'github_actions_job_queue_duration_seconds',
      labels,
      observeSeconds: 7,
    } as const;
    const a = applyDelta(undefined, delta, DEFAULT_CATALOGUE);
    const b = applyDelta(
      applyDelta(undefined, delta, DEFAULT_CATALOGUE),
      { ...delta, observeSeconds: 9000 },
      DEFAULT_CATALOGUE,
    );
    const [merged] = mergeAggregates([a, b]);
    expect(merged).toMatchObject({ count: 3, sum: 9014 });
    expect(merged?.kind === 'histogram' && merged.bucketCounts[2]).toBe(2);
    expect(merged?.kind === 'histogram' && merged.bucketCounts[12]).toBe(1);
    expect(
      DEFAULT_CATALOGUE.seriesKey(delta.name, { labels: 'x', runner_group: '', repository: 'o/r' }),
    ).toBe(DEFAULT_CATALOGUE.seriesKey(delta.name, labels));
  });

  it('merging partitions neither mutates its inputs nor mixes families', () => {
    const a = observe(3);
    const b = observe(4000);
    const counter: AggregateDelta = {
      kind: 'counter',
      name: 'github_actions_workflow_runs_completed_total',
      labels: { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'success' },
      increment: 1,
    };
    const c = applyDelta(applyDelta(undefined, counter, DEFAULT_CATALOGUE), counter, DEFAULT_CATALOGUE);
    const before = structuredClone([a, b, c]);
    const merged = mergeAggregates([a, b, c, c]);
    expect([a, b, c]).toEqual(before);
    expect(merged).toHaveLength(2);
    expect(merged.find((v) => v.kind === 'counter')).toMatchObject({ value: 4 });
    expect(merged.find((v) => v.kind === 'histogram')).toMatchObject({ count: 2, sum: 4003 });
  });

  it('takes the latest of the partitions for the last-received time, and the same whatever their order', () => {
    const at = (seconds: number) =>
      ({
        kind: 'gauge',
        name: 'runstream_delivery_last_received_timestamp_seconds',
        labels: { repository: 'o/r' },
        members: 1,
        value: seconds,
        emptySince: null,
      }) as const;
    const parts = [at(1_700_000_100.5), at(1_700_000_300.25), at(1_700_000_200)];
    for (const order of [parts, [...parts].reverse(), [parts[1]!, parts[0]!, parts[2]!]]) {
      const [merged] = mergeAggregates(order);
      expect(merged).toMatchObject({ value: 1_700_000_300.25 });
    }
  });
});
