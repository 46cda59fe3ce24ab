// The exporter's view over changelog records: a series is the sum of its partitions'
// latest values, a tombstone removes one partition's share (and the series with the
// last one), gauges follow runs as they change and an emptied label set is served at
// 0 for the retention window, then dropped. Undecodable records are refused.
import { describe, expect, it } from 'vitest';
import { MetricsView } from '../../../exporter/view.js';
import { aggregateChangelogKey, encodeAggregate, encodeRun } from '../../../schemas/changelog.js';
import { seriesKey } from '../../../schemas/metrics.js';
import type { AggregateValue, RunState } from '../../../schemas/model.js';
import { parseExposition, samplesByKey } from '../../support/exposition.js';

const labels = { repository: 'o/r', workflow: 'CI', event: 'push', conclusion: 'success' };

function completed(value: number): AggregateValue {
  return { kind: 'counter', name: 'github_actions_workflow_runs_completed_total', labels, value };
}

function run(status: RunState['status']): RunState {
  return {
    runId: 1,
    runAttempt: 1,
    repository: 'o/r',
    workflow: 'CI',
    event: 'push',
    status,
    conclusion: status === 'completed' ? 'success' : null,
    createdAt: 0,
    runStartedAt: 0,
    updatedAt: 0,
    firstSeenAt: 0,
    completedSeenAt: status === 'completed' ? 0 : null,
    expiredAt: null,
  };
}

const key = (partition: number) =>
  aggregateChangelogKey(partition, seriesKey('github_actions_workflow_runs_completed_total', labels));

function served(view: MetricsView): Map<string, number> {
  return samplesByKey(parseExposition(view.render()), 'github_actions_');
}

const counterKey =
  'github_actions_workflow_runs_completed_total{conclusion="success",event="push",repository="o/r",workflow="CI"}';
const runningKey =
  'github_actions_workflow_runs{event="push",repository="o/r",status="in_progress",workflow="CI"}';

describe('MetricsView', () => {
  it('sums a series over partitions, and a tombstone takes back only its partition’s share', () => {
    let now = 0;
    const view = new MetricsView(60_000, () => now);
    view.apply('aggregates', key(0), encodeAggregate(completed(3)));
    view.apply('aggregates', key(5), encodeAggregate(completed(4)));
    view.apply('aggregates', key(0), encodeAggregate(completed(5))); // a newer value replaces
    expect(served(view).get(counterKey)).toBe(9);

    now += 10_000; // past the render cache
    view.apply('aggregates', key(5), null);
    expect(served(view).get(counterKey)).toBe(5);
    view.apply('aggregates', key(0), null);
    expect(served(view).has(counterKey)).toBe(false);
  });

  it('serves an emptied gauge label set at 0 for the retention window, then drops it', () => {
    let now = 0;
    const view = new MetricsView(60_000, () => now);
    view.apply('runs', '1:1', encodeRun(run('in_progress')));
    expect(served(view).get(runningKey)).toBe(1);
    now += 10_000;
    view.apply('runs', '1:1', encodeRun(run('completed')));
    expect(served(view).get(runningKey)).toBe(0);
    now += 59_000;
    expect(served(view).get(runningKey)).toBe(0);
    now += 6_000; // past the retention, and past the 5 s render cache
    expect(served(view).has(runningKey)).toBe(false);
  });

  it('refuses an undecodable record and an aggregate key without a partition', () => {
    const view = new MetricsView(60_000, () => 0);
    expect(() => view.apply('runs', '1:1', Buffer.from('not avro'))).toThrow();
    expect(() => view.apply('aggregates', 'no-partition', encodeAggregate(completed(1)))).toThrow(
      /has no partition/,
    );
  });
});
