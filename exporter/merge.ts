// The exporter's sum of one series across partitions: each processor partition
// keeps its own cumulative value of a series, and every exporter pod serves their sum.
import { familyLabels, seriesKey } from '../schemas/metrics.js';
import type { AggregateValue } from '../schemas/model.js';

/** Sums the same series across partitions (each partition holds its own cumulative value). */
export function mergeAggregates(values: Iterable<AggregateValue>): AggregateValue[] {
  const merged = new Map<string, AggregateValue>();
  for (const value of values) {
    const key = seriesKey(value.name, value.labels);
    const seen = merged.get(key);
    if (!seen) {
      merged.set(
        key,
        value.kind === 'counter'
          ? { ...value, labels: familyLabels(value.name, value.labels) }
          : {
              ...value,
              labels: familyLabels(value.name, value.labels),
              bucketCounts: [...value.bucketCounts],
            },
      );
    } else if (seen.kind === 'counter' && value.kind === 'counter') {
      seen.value += value.value;
    } else if (seen.kind === 'histogram' && value.kind === 'histogram') {
      for (let i = 0; i < value.bucketCounts.length; i++) {
        seen.bucketCounts[i] = (seen.bucketCounts[i] ?? 0) + (value.bucketCounts[i] ?? 0);
      }
      seen.sum += value.sum;
      seen.count += value.count;
    }
  }
  return [...merged.values()];
}
