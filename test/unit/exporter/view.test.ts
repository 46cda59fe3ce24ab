// The exporter's view over the aggregates changelog: a series is its partitions'
// latest values combined (counters and count gauges add up, the oldest-queued gauge
// takes the oldest non-zero), a tombstone removes one partition's share (and the series
// with the last one), an emptied gauge is served at 0 until processors drop it, and
// undecodable records are refused.
import { describe, expect, it } from 'vitest';
import { demandBody, poolDemandBody } from '../../../exporter/demand.js';
import { MetricsView } from '../../../exporter/view.js';
import { applyDelta } from '../../../processor/core/aggregates.js';
import {
  admissionKey,
  aggregateChangelogKey,
  encodeAdmission,
  encodeAggregate,
  encodeRerun,
  rerunKey,
} from '../../../schemas/changelog.js';
import { type AggregateName, DEFAULT_CATALOGUE, MetricCatalogue } from '../../../schemas/metrics.js';
import type { AggregateValue, Labels } from '../../../schemas/model.js';
import { parseExposition, samplesByKey } from '../../support/exposition.js';

const runLabels = { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'success' };

function apply(
  view: MetricsView,
  partition: number,
  value: AggregateValue | null,
  name?: AggregateName,
  labels?: Labels,
) {
  const key = DEFAULT_CATALOGUE.seriesKey(value?.name ?? name!, value?.labels ?? labels!);
  view.apply(aggregateChangelogKey(partition, key), value && encodeAggregate(value));
}

const completed = (value: number): AggregateValue => ({
  kind: 'counter',
  name: 'github_actions_workflow_runs_completed_total',
  labels: runLabels,
  value,
});

const queueLabels = { runner_group: '', labels: 'ubuntu-latest' };
const oldest = (value: number, members: number): AggregateValue => ({
  kind: 'gauge',
  name: 'github_actions_job_oldest_queued_timestamp_seconds',
  labels: queueLabels,
  value,
  members,
  emptySince: members > 0 ? null : 1,
});
const running = (members: number): AggregateValue => ({
  kind: 'gauge',
  name: 'github_actions_workflow_runs',
  labels: { repository: 'o/r', workflow: 'CI', event: 'push', status: 'in_progress' },
  value: members,
  members,
  emptySince: members > 0 ? null : 1,
});

function served(view: MetricsView): Map<string, number> {
  return samplesByKey(parseExposition(view.render()), 'github_actions_');
}

const counterKey =
  'github_actions_workflow_runs_completed_total{conclusion="success",event="push",repository="o/r",workflow="CI"}';
const runningKey =
  'github_actions_workflow_runs{event="push",repository="o/r",status="in_progress",workflow="CI"}';
const oldestKey =
  'github_actions_job_oldest_queued_timestamp_seconds{labels="ubuntu-latest",runner_group=""}';

describe('MetricsView', () => {
  it('sums a counter over partitions, and a tombstone takes back only its partition’s share', () => {
    const view = new MetricsView(DEFAULT_CATALOGUE);
    apply(view, 0, completed(3));
    apply(view, 5, completed(4));
    apply(view, 0, completed(5)); // a newer value replaces
    expect(served(view).get(counterKey)).toBe(9);
    apply(view, 5, null, completed(0).name, runLabels);
    expect(served(view).get(counterKey)).toBe(5);
    apply(view, 0, null, completed(0).name, runLabels);
    expect(served(view).has(counterKey)).toBe(false);
  });

  it('adds count gauges up, and takes the oldest queued job of all partitions', () => {
    const view = new MetricsView(DEFAULT_CATALOGUE);
    apply(view, 0, running(2));
    apply(view, 1, running(1));
    apply(view, 0, oldest(1_700_000_100, 3));
    apply(view, 1, oldest(0, 1)); // members, but none queued
    apply(view, 2, oldest(1_700_000_050, 1));
    expect(served(view).get(runningKey)).toBe(3);
    expect(served(view).get(oldestKey)).toBe(1_700_000_050);
    apply(view, 2, oldest(0, 0));
    expect(served(view).get(oldestKey)).toBe(1_700_000_100);
  });

  it('serves an emptied gauge at 0 until every partition’s processor drops it', () => {
    const view = new MetricsView(DEFAULT_CATALOGUE);
    apply(view, 0, running(1));
    apply(view, 0, running(0));
    expect(served(view).get(runningKey)).toBe(0);
    apply(view, 0, null, running(0).name, running(0).labels);
    expect(served(view).has(runningKey)).toBe(false);
  });

  it('skips the processors’ admission and re-run records: no series, no error', () => {
    const view = new MetricsView(DEFAULT_CATALOGUE);
    apply(view, 0, completed(3));
    const before = view.render();
    view.apply(aggregateChangelogKey(0, admissionKey('flaky', '["o/r","CI","e2e"]')), encodeAdmission(1));
    const rerun = { firstFailedAttempt: 1, lastSucceededAttempt: 2, countedAt: 5, updatedAt: 5 };
    view.apply(aggregateChangelogKey(0, rerunKey(42, 'e2e')), encodeRerun(rerun));
    view.apply(aggregateChangelogKey(0, rerunKey(42, 'e2e')), null);
    expect(view.render()).toBe(before);
  });

  it('refuses an undecodable record and an aggregate key without a partition', () => {
    const view = new MetricsView(DEFAULT_CATALOGUE);
    expect(() => view.apply(aggregateChangelogKey(0, 'x'), Buffer.from('not avro'))).toThrow();
    expect(() => view.apply('no-partition', encodeAggregate(completed(1)))).toThrow(/has no partition/);
  });

  it('serves the buckets and the labels the processors were configured with', () => {
    const name = 'github_actions_job_queue_duration_seconds';
    const catalogue = new MetricCatalogue({ buckets: { [name]: [2, 20] }, labels: { [name]: ['labels'] } });
    const view = new MetricsView(catalogue);
    const delta = {
      kind: 'histogram',
      name,
      labels: { repository: 'o/r', labels: 'gpu' },
      observeSeconds: 7,
    } as const;
    const value = applyDelta(
      applyDelta(undefined, delta, catalogue),
      { ...delta, observeSeconds: 60 },
      catalogue,
    );
    view.apply(aggregateChangelogKey(1, catalogue.seriesKey(name, delta.labels)), encodeAggregate(value));
    const samples = served(view);
    expect(samples.get(`${name}_bucket{labels="gpu",le="2"}`)).toBe(0);
    expect(samples.get(`${name}_bucket{labels="gpu",le="20"}`)).toBe(1);
    expect(samples.get(`${name}_bucket{labels="gpu",le="+Inf"}`)).toBe(2);
    expect(samples.get(`${name}_count{labels="gpu"}`)).toBe(2);
  });

  it('serves every configured pool, at 0 while the view has no series of it, and the demand JSON from the same values', () => {
    const catalogue = new MetricCatalogue({
      poolMode: 'runner-labels',
      pools: [
        { pool: 'linux', patterns: ['self-hosted', 'linux'] },
        { pool: 'gpu', patterns: ['self-hosted', 'gpu'] },
      ],
    });
    const view = new MetricsView(catalogue);
    const queued = (pool: string, members: number): AggregateValue => ({
      kind: 'gauge',
      name: 'github_actions_pool_queued_jobs',
      labels: { pool },
      value: members,
      members,
      emptySince: members > 0 ? null : 1,
    });
    const key = (pool: string) => `github_actions_pool_queued_jobs{pool="${pool}"}`;
    expect(served(view)).toEqual(
      new Map([
        [key('linux'), 0],
        [key('gpu'), 0],
      ]),
    );
    apply(view, 0, queued('linux', 2));
    apply(view, 3, queued('linux', 1));
    apply(view, 1, queued('(unlabelled)', 1));
    expect(served(view)).toEqual(
      new Map([
        [key('linux'), 3],
        [key('(unlabelled)'), 1],
        [key('gpu'), 0],
      ]),
    );
    const demand = demandBody(view.valuesOf('github_actions_pool_queued_jobs'));
    expect(demand).toEqual({ pools: { linux: 3, '(unlabelled)': 1, gpu: 0 } });
    expect(poolDemandBody(demand, 'gpu')).toEqual({ pool: 'gpu', queued: 0 });
    expect(poolDemandBody(demand, 'linux')).toEqual({ pool: 'linux', queued: 3 });
    // A name neither configured nor queued is not zero demand: the caller answers 404.
    expect(poolDemandBody(demand, 'lniux')).toBeUndefined();
  });

  it('serves the last-received time as the latest of the partitions', () => {
    const view = new MetricsView(DEFAULT_CATALOGUE);
    const at = (value: number): AggregateValue => ({
      kind: 'gauge',
      name: 'runstream_delivery_last_received_timestamp_seconds',
      labels: { repository: 'o/r' },
      value,
      members: 1,
      emptySince: null,
    });
    apply(view, 0, at(1_700_000_500.125));
    apply(view, 1, at(1_700_000_100));
    const samples = samplesByKey(parseExposition(view.render()), 'runstream_');
    expect(samples).toEqual(
      new Map([['runstream_delivery_last_received_timestamp_seconds{repository="o/r"}', 1_700_000_500.125]]),
    );
  });
});
