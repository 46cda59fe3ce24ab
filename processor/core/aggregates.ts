// Counter and histogram maths over plain values: keys, label order, deltas, and the
// sum across partitions the exporter serves.
import {
  type AggregateDelta,
  type AggregateName,
  type AggregateValue,
  HISTOGRAM_BUCKETS_SECONDS,
  type Labels,
} from './types.js';

/** Label names per family, in the order they are keyed and rendered. */
export const AGGREGATE_LABELS: Readonly<Record<AggregateName, readonly string[]>> = {
  github_actions_workflow_runs_completed_total: ['repository', 'workflow', 'event', 'conclusion'],
  github_actions_jobs_completed_total: ['repository', 'workflow', 'runner_group', 'labels', 'conclusion'],
  github_actions_job_queue_duration_seconds: ['repository', 'runner_group', 'labels'],
  github_actions_job_duration_seconds: ['repository', 'workflow', 'conclusion'],
  github_actions_workflow_run_duration_seconds: ['repository', 'workflow', 'event', 'conclusion'],
};

/** Labels with exactly the family's names, in its order (missing values are ''). */
export function familyLabels(name: AggregateName, values: Labels): Labels {
  const out: Record<string, string> = {};
  for (const label of AGGREGATE_LABELS[name]) out[label] = values[label] ?? '';
  return out;
}

/** A stable key for one series: the family name and its label values in order. */
export function aggregateKey(name: AggregateName, labels: Labels): string {
  return `${name}${JSON.stringify(AGGREGATE_LABELS[name].map((label) => labels[label] ?? ''))}`;
}

/** Index of the bucket an observation falls in (le semantics); the last slot is +Inf. */
export function bucketIndex(seconds: number): number {
  for (let i = 0; i < HISTOGRAM_BUCKETS_SECONDS.length; i++) {
    if (seconds <= HISTOGRAM_BUCKETS_SECONDS[i]!) return i;
  }
  return HISTOGRAM_BUCKETS_SECONDS.length;
}

export function applyDelta(current: AggregateValue | undefined, delta: AggregateDelta): AggregateValue {
  const labels = familyLabels(delta.name, delta.labels);
  if (delta.kind === 'counter') {
    const value = current?.kind === 'counter' ? current.value : 0;
    return { kind: 'counter', name: delta.name, labels, value: value + delta.increment };
  }
  const bucketCounts =
    current?.kind === 'histogram'
      ? [...current.bucketCounts]
      : new Array(HISTOGRAM_BUCKETS_SECONDS.length + 1).fill(0);
  const index = bucketIndex(delta.observeSeconds);
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

/** Sums the same series across partitions (each partition holds its own cumulative value). */
export function mergeAggregates(values: Iterable<AggregateValue>): AggregateValue[] {
  const merged = new Map<string, AggregateValue>();
  for (const value of values) {
    const key = aggregateKey(value.name, value.labels);
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
