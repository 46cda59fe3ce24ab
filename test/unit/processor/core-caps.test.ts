// The pure part of the caps (processor/core/caps.ts, schemas/metrics.ts): truncation,
// the admission decision, label-set keys and the series an overflowed entity touches.
import { describe, expect, it } from 'vitest';
import {
  decideAdmission,
  jobCappedValues,
  labelSetKey,
  runCappedValues,
  withOverflow,
} from '../../../processor/core/caps.js';
import { jobGaugeDeltas, queuePosition, runGaugeDeltas } from '../../../processor/core/gauges.js';
import { MetricCatalogue, OVERFLOW_VALUE, truncateLabelValue } from '../../../schemas/metrics.js';
import { jobState, runState } from '../../support/entities.js';

const OTHER = OVERFLOW_VALUE;

describe('truncateLabelValue', () => {
  it('leaves a value within the limit as it is', () => {
    expect(truncateLabelValue('CI', 2)).toBe('CI');
    expect(truncateLabelValue('', 16)).toBe('');
    // Four code points in seven UTF-16 units: within a limit of 4 characters.
    expect(truncateLabelValue('a😀b😀', 4)).toBe('a😀b😀');
  });

  it('cuts by code points, marks the cut and names the whole value by its hash', () => {
    const cut = truncateLabelValue('😀'.repeat(20), 5);
    expect(cut).toMatch(/^(😀){5}…\(truncated [0-9a-f]{12}\)$/u);
    expect(cut).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no lone high surrogate
    expect(truncateLabelValue('😀'.repeat(20), 5)).toBe(cut); // deterministic
  });

  it('keeps two long values that share their head apart', () => {
    const head = 'x'.repeat(100);
    const a = truncateLabelValue(`${head}a`, 100);
    const b = truncateLabelValue(`${head}b`, 100);
    expect(a.startsWith(head)).toBe(true);
    expect(a).not.toBe(b);
  });
});

describe('decideAdmission', () => {
  it('keeps what was admitted, admits while there is room, and overflows once full', () => {
    expect(decideAdmission(true, 10, 10)).toBe('admitted');
    expect(decideAdmission(false, 9, 10)).toBe('admit');
    expect(decideAdmission(false, 10, 10)).toBe('overflow');
    expect(decideAdmission(false, 0, 1)).toBe('admit');
  });
});

describe('label sets', () => {
  const catalogue = new MetricCatalogue({
    pools: [{ pool: 'gpu', patterns: ['gpu*'] }],
    labelValueMaxLength: 16,
  });

  it('are keyed by their values as served: pooled, truncated, in a fixed order', () => {
    const a = labelSetKey('job', jobCappedValues(jobState({ labels: 'gpu-a,linux' })), catalogue);
    const b = labelSetKey('job', jobCappedValues(jobState({ labels: 'gpu-b' })), catalogue);
    expect(a).toBe(b);
    const long = 'w'.repeat(40);
    const key = JSON.parse(labelSetKey('run', runCappedValues(runState({ workflow: long })), catalogue));
    expect(key[1]).toBe(truncateLabelValue(long, 16));
    // No separator can make two label sets one: the key is JSON of the values.
    expect(labelSetKey('run', { repository: 'a","b', workflow: 'c' }, catalogue)).not.toBe(
      labelSetKey('run', { repository: 'a', workflow: 'b","c' }, catalogue),
    );
  });

  it('overflow as (other) in every capped label, served as it is even where a pool would match', () => {
    const pooled = new MetricCatalogue({ pools: [{ pool: 'all', patterns: ['*', '(*'] }] });
    const labels = withOverflow('job', { repository: 'o/r', labels: 'x', status: 'queued' }, true);
    expect(labels).toMatchObject({ repository: OTHER, workflow: OTHER, runner_group: OTHER, labels: OTHER });
    expect(labels.status).toBe('queued');
    expect(pooled.seriesLabels('github_actions_jobs', labels).labels).toBe(OTHER);
    expect(withOverflow('run', { workflow: 'w' }, false)).toEqual({ workflow: 'w' });
  });

  it('put an overflowed entity in (other) series only, the oldest-queued set included', () => {
    const job = jobState({ status: 'queued', overflow: true, createdAt: 5_000 });
    const catalogue = new MetricCatalogue();
    const deltas = jobGaugeDeltas(undefined, job, catalogue);
    expect(deltas.map((d) => d.name)).toContain('github_actions_pool_queued_jobs');
    for (const delta of deltas) {
      const served = catalogue.seriesLabels(delta.name, delta.labels);
      // Every label the payload chooses (the capped ones, and the pool made of them) is (other).
      const chosen = Object.entries(served).filter(
        ([label]) => label !== 'status' && label !== 'branch_kind',
      );
      expect(chosen.length).toBeGreaterThanOrEqual(1);
      for (const [label, value] of chosen) expect(value, `${delta.name} ${label}`).toBe(OTHER);
      expect(Object.values(served)).not.toContain(job.labels);
    }
    expect(queuePosition(job, catalogue)?.set).toBe(
      catalogue.seriesKey('github_actions_job_oldest_queued_timestamp_seconds', {
        runner_group: OTHER,
        labels: OTHER,
      }),
    );
    const [run] = runGaugeDeltas(undefined, runState({ status: 'queued', overflow: true }), catalogue);
    expect(run!.labels).toMatchObject({ repository: OTHER, workflow: OTHER, status: 'queued' });
  });
});
