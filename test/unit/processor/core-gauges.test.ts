// Busy runners (processor/core/gauges.ts): a job holds one runner of its runner group and
// labels (as the pool the catalogue names) exactly while it is in progress.
import { describe, expect, it } from 'vitest';
import { applyGaugeDelta, jobGaugeDeltas } from '../../../processor/core/gauges.js';
import { MetricCatalogue } from '../../../schemas/metrics.js';
import type { AggregateValue, JobState } from '../../../schemas/model.js';
import { jobState } from '../../support/entities.js';

const BUSY = 'github_actions_runners_busy';
const catalogue = new MetricCatalogue({ pools: [{ pool: 'linux', patterns: ['linux-*'] }] });

/** The busy series a sequence of job states leaves, folded as a partition folds them. */
function busyAfter(...states: Array<JobState | undefined>): Map<string, number> {
  const series = new Map<string, AggregateValue>();
  let previous: JobState | undefined;
  for (const next of states) {
    for (const delta of jobGaugeDeltas(previous, next, catalogue)) {
      if (delta.name !== BUSY) continue;
      const key = catalogue.seriesKey(delta.name, delta.labels);
      series.set(key, applyGaugeDelta(series.get(key), delta, 0, catalogue));
    }
    previous = next;
  }
  return new Map(
    [...series.values()].map((v) => [JSON.stringify(v.labels), v.kind === 'gauge' ? v.value : NaN]),
  );
}

describe('busy runners', () => {
  const queued = jobState({ labels: 'linux-x64,self-hosted', runnerGroup: '' });
  const running = { ...queued, status: 'in_progress' as const, runnerGroup: 'Default', runnerName: 'r1' };

  it('counts a job in progress under its runner group and its pool, and not while queued or waiting', () => {
    expect(busyAfter(queued)).toEqual(new Map());
    expect(busyAfter({ ...queued, status: 'waiting' })).toEqual(new Map());
    expect(busyAfter(queued, running)).toEqual(
      new Map([[JSON.stringify({ runner_group: 'Default', labels: 'linux' }), 1]]),
    );
  });

  it('frees the runner when the job completes or expires as stale', () => {
    const key = JSON.stringify({ runner_group: 'Default', labels: 'linux' });
    expect(busyAfter(queued, running, { ...running, status: 'completed' })).toEqual(new Map([[key, 0]]));
    expect(busyAfter(running, { ...running, expiredAt: 5 })).toEqual(new Map([[key, 0]]));
  });

  it('serves a label set over the cap as (other), like the job gauges', () => {
    expect(busyAfter({ ...running, overflow: true })).toEqual(
      new Map([[JSON.stringify({ runner_group: '(other)', labels: '(other)' }), 1]]),
    );
  });
});

describe('applyGaugeDelta', () => {
  it('applied n times at once leaves what n single applications leave', () => {
    const queued = jobState({ labels: 'linux-x64', runnerGroup: 'g' });
    for (const delta of jobGaugeDeltas(undefined, queued, catalogue)) {
      for (const n of [1, 2, 7]) {
        let folded: AggregateValue | undefined;
        for (let i = 0; i < n; i++) folded = applyGaugeDelta(folded, delta, 5, catalogue);
        expect(applyGaugeDelta(undefined, delta, 5, catalogue, n)).toEqual(folded);
        const leaving = { ...delta, change: -1 as const };
        let emptied = folded;
        for (let i = 0; i < n; i++) emptied = applyGaugeDelta(emptied, leaving, 9, catalogue);
        expect(applyGaugeDelta(folded, leaving, 9, catalogue, n)).toEqual(emptied);
      }
    }
  });
});
