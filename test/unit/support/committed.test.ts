// The committed side of the oracle comparisons (test/support/committed.ts): aggregate
// values of several partitions as the samples an exporter must serve, in the oracle's
// sampleKey form, written out by hand here.
import { describe, expect, it } from 'vitest';
import type { AggregateValue } from '../../../schemas/model.js';
import { seriesOf } from '../../support/committed.js';
import { sampleKey } from '../../support/exposition.js';

const labels = { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'success' };
const counter = (value: number): AggregateValue => ({
  kind: 'counter',
  name: 'github_actions_workflow_runs_completed_total',
  labels,
  value,
});

describe('seriesOf', () => {
  it('adds counters and histograms over partitions, buckets made cumulative', () => {
    // 14 buckets: 1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600, +Inf.
    const histogram = (at: number, sum: number): AggregateValue => ({
      kind: 'histogram',
      name: 'github_actions_workflow_run_duration_seconds',
      labels,
      bucketCounts: Array.from({ length: 14 }, (_, i) => (i === at ? 1 : 0)),
      sum,
      count: 1,
    });
    const series = seriesOf([counter(2), counter(3), histogram(1, 4), histogram(13, 50_000)]);
    const h = 'github_actions_workflow_run_duration_seconds';
    expect(series.get(sampleKey('github_actions_workflow_runs_completed_total', labels))).toBe(5);
    expect(series.get(sampleKey(`${h}_bucket`, { ...labels, le: '1' }))).toBe(0);
    expect(series.get(sampleKey(`${h}_bucket`, { ...labels, le: '5' }))).toBe(1);
    expect(series.get(sampleKey(`${h}_bucket`, { ...labels, le: '21600' }))).toBe(1);
    expect(series.get(sampleKey(`${h}_bucket`, { ...labels, le: '+Inf' }))).toBe(2);
    expect(series.get(sampleKey(`${h}_sum`, labels))).toBe(50_004);
    expect(series.get(sampleKey(`${h}_count`, labels))).toBe(2);
  });

  it('serves gauges with active members only, the oldest queued as the oldest, and no runstream_ series', () => {
    const gauge = (name: string, value: number, members: number): AggregateValue =>
      ({
        kind: 'gauge',
        name,
        labels: { runner_group: 'g', labels: 'l' },
        value,
        members,
        emptySince: members === 0 ? 1 : null,
      }) as AggregateValue;
    const series = seriesOf([
      gauge('github_actions_runners_busy', 2, 2),
      gauge('github_actions_runners_busy', 1, 1),
      gauge('github_actions_job_oldest_queued_timestamp_seconds', 900, 1),
      gauge('github_actions_job_oldest_queued_timestamp_seconds', 800, 2),
      gauge('github_actions_job_oldest_queued_timestamp_seconds', 0, 1),
      {
        kind: 'gauge',
        name: 'runstream_delivery_last_received_timestamp_seconds',
        labels: { repository: 'o/r' },
        value: 5,
        members: 1,
        emptySince: null,
      },
    ]);
    expect(Object.fromEntries(series)).toEqual({
      [sampleKey('github_actions_runners_busy', { runner_group: 'g', labels: 'l' })]: 3,
      [sampleKey('github_actions_job_oldest_queued_timestamp_seconds', {
        runner_group: 'g',
        labels: 'l',
      })]: 800,
    });
    expect(seriesOf([gauge('github_actions_runners_busy', 0, 0)]).size).toBe(0);
  });

  it('refuses a histogram whose buckets are not the contract’s', () => {
    const wrong: AggregateValue = {
      kind: 'histogram',
      name: 'github_actions_job_duration_seconds',
      labels: {},
      bucketCounts: [1, 0],
      sum: 1,
      count: 1,
    };
    expect(() => seriesOf([wrong])).toThrow(/2 buckets, the contract 14/);
  });
});
