// How one series' values from every processor partition combine into the value every
// exporter pod serves: counters and histograms add up (each partition holds its own
// cumulative value), count gauges add up, and the oldest-queued gauge is the oldest
// (smallest non-zero) of the partitions' values, 0 when none has a queued job; a latest
// time (the last delivery received) is the greatest.
import { familyOf } from '../schemas/metrics.js';
import type { AggregateValue } from '../schemas/model.js';

// A series' labels are as its processors' catalogue made them (RUNSTREAM_METRIC_LABELS):
// kept as stored, and a series is its name and label values whatever their order.
const keyOf = (value: AggregateValue): string =>
  `${value.name}${JSON.stringify(Object.entries(value.labels).sort(([a], [b]) => (a < b ? -1 : 1)))}`;

function copy(value: AggregateValue): AggregateValue {
  const labels = { ...value.labels };
  return value.kind === 'histogram'
    ? { ...value, labels, bucketCounts: [...value.bucketCounts] }
    : { ...value, labels };
}

function combine(seen: AggregateValue, value: AggregateValue): void {
  if (seen.kind === 'counter' && value.kind === 'counter') {
    seen.value += value.value;
  } else if (seen.kind === 'histogram' && value.kind === 'histogram') {
    for (let i = 0; i < value.bucketCounts.length; i++) {
      seen.bucketCounts[i] = (seen.bucketCounts[i] ?? 0) + (value.bucketCounts[i] ?? 0);
    }
    seen.sum += value.sum;
    seen.count += value.count;
  } else if (seen.kind === 'gauge' && value.kind === 'gauge') {
    seen.members += value.members;
    const merge = familyOf(seen.name)?.merge;
    if (merge === 'max') {
      seen.value = Math.max(seen.value, value.value);
    } else if (merge === 'min') {
      if (value.value > 0 && (seen.value === 0 || value.value < seen.value)) seen.value = value.value;
    } else {
      seen.value += value.value;
    }
  }
}

/** Each series once, its partitions' values combined; inputs are left untouched. */
export function mergeAggregates(values: Iterable<AggregateValue>): AggregateValue[] {
  const merged = new Map<string, AggregateValue>();
  for (const value of values) {
    const key = keyOf(value);
    const seen = merged.get(key);
    if (seen) combine(seen, value);
    else merged.set(key, copy(value));
  }
  return [...merged.values()];
}
