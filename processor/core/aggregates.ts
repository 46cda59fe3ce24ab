// Counter and histogram maths over plain values: a delta applied to a partition's
// cumulative value of a series (the series' labels and buckets come from the catalogue).
import type { MetricCatalogue } from '../../schemas/metrics.js';
import type { AggregateValue } from '../../schemas/model.js';
import type { AggregateDelta } from './types.js';

/** Index of the bucket an observation falls in (le semantics); the last slot is +Inf. */
export function bucketIndex(buckets: readonly number[], seconds: number): number {
  for (let i = 0; i < buckets.length; i++) {
    if (seconds <= buckets[i]!) return i;
  }
  return buckets.length;
}

/** A delta (with its entity's raw label values) applied to a series as the catalogue shapes it. */
export function applyDelta(
  current: AggregateValue | undefined,
  delta: AggregateDelta,
  catalogue: MetricCatalogue,
): AggregateValue {
  const labels = catalogue.seriesLabels(delta.name, delta.labels);
  if (delta.kind === 'counter') {
    const value = current?.kind === 'counter' ? current.value : 0;
    return { kind: 'counter', name: delta.name, labels, value: value + delta.increment };
  }
  const buckets = catalogue.bucketsOf(delta.name);
  const bucketCounts =
    current?.kind === 'histogram' ? [...current.bucketCounts] : new Array(buckets.length + 1).fill(0);
  const index = bucketIndex(buckets, delta.observeSeconds);
  bucketCounts[index] = (bucketCounts[index] ?? 0) + 1;
  return {
    kind: 'histogram',
    name: delta.name,
    labels,
    bucketCounts,
    sum: (current?.kind === 'histogram' ? current.sum : 0) + delta.observeSeconds,
    count: (current?.kind === 'histogram' ? current.count : 0) + 1,
  };
}
