// The metric catalogue: every github_actions_ family declared once, with its type,
// help text, label names (in the order they are keyed and served) and buckets. The
// processors' aggregates, the exporters' families and docs/metrics.md read it.

/** Histogram buckets of every duration family (seconds), as the design fixes them. */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [
  1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600,
];

export interface MetricFamily {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
  labels: readonly string[];
  /** Histograms only. */
  buckets?: readonly number[];
  /** Gauges only: how partitions' values combine (a count adds up; the oldest is the minimum set). */
  merge?: 'sum' | 'min';
}

export const METRIC_FAMILIES = {
  runs: {
    name: 'github_actions_workflow_runs',
    type: 'gauge',
    help: 'Workflow runs by non-terminal status',
    labels: ['repository', 'workflow', 'event', 'status'],
    merge: 'sum',
  },
  jobs: {
    name: 'github_actions_jobs',
    type: 'gauge',
    help: 'Jobs queued, waiting or in progress',
    labels: ['repository', 'workflow', 'runner_group', 'labels', 'status'],
    merge: 'sum',
  },
  oldestQueued: {
    name: 'github_actions_job_oldest_queued_timestamp_seconds',
    type: 'gauge',
    help: 'Creation time (Unix seconds) of the oldest job queued now, per runner group and labels',
    labels: ['runner_group', 'labels'],
    merge: 'min',
  },
  runsCompleted: {
    name: 'github_actions_workflow_runs_completed_total',
    type: 'counter',
    help: 'Workflow run attempts completed, by conclusion',
    labels: ['repository', 'workflow', 'event', 'conclusion'],
  },
  jobsCompleted: {
    name: 'github_actions_jobs_completed_total',
    type: 'counter',
    help: 'Jobs completed, by conclusion',
    labels: ['repository', 'workflow', 'runner_group', 'labels', 'conclusion'],
  },
  queueDuration: {
    name: 'github_actions_job_queue_duration_seconds',
    type: 'histogram',
    help: 'Time from job creation to a runner starting it',
    labels: ['repository', 'runner_group', 'labels'],
    buckets: DURATION_BUCKETS_SECONDS,
  },
  jobDuration: {
    name: 'github_actions_job_duration_seconds',
    type: 'histogram',
    help: 'Time from job start to completion',
    labels: ['repository', 'workflow', 'conclusion'],
    buckets: DURATION_BUCKETS_SECONDS,
  },
  runDuration: {
    name: 'github_actions_workflow_run_duration_seconds',
    type: 'histogram',
    help: 'Time from run attempt start to completion',
    labels: ['repository', 'workflow', 'event', 'conclusion'],
    buckets: DURATION_BUCKETS_SECONDS,
  },
} as const satisfies Record<string, MetricFamily>;

type Families = typeof METRIC_FAMILIES;
type NameOf<T extends MetricFamily['type']> = {
  [K in keyof Families]: Families[K]['type'] extends T ? Families[K]['name'] : never;
}[keyof Families];

export type GaugeName = NameOf<'gauge'>;
export type CounterName = NameOf<'counter'>;
export type HistogramName = NameOf<'histogram'>;
export type AggregateName = GaugeName | CounterName | HistogramName;

/** Every family, in serving order; processors keep each as per-partition aggregates. */
export const AGGREGATE_FAMILIES: readonly MetricFamily[] = Object.values(METRIC_FAMILIES);

const byName = new Map<string, MetricFamily>(Object.values(METRIC_FAMILIES).map((f) => [f.name, f]));

export function familyOf(name: string): MetricFamily | undefined {
  return byName.get(name);
}

/** Label names of an aggregate family, in order. */
export function aggregateLabels(name: AggregateName): readonly string[] {
  return byName.get(name)!.labels;
}

export function isGaugeName(name: string): name is GaugeName {
  return byName.get(name)?.type === 'gauge';
}

export function isCounterName(name: string): name is CounterName {
  return byName.get(name)?.type === 'counter';
}

export function isHistogramName(name: string): name is HistogramName {
  return byName.get(name)?.type === 'histogram';
}

/** Buckets of a histogram family. */
export function bucketsOf(name: HistogramName): readonly number[] {
  return byName.get(name)!.buckets!;
}

/** Labels with exactly the family's names, in its order (missing values are ''). */
export function familyLabels(
  name: AggregateName,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const label of aggregateLabels(name)) out[label] = values[label] ?? '';
  return out;
}

/**
 * A stable key for one aggregate series: the family name and its label values in
 * order. Part of the aggregates changelog key (`<partition>|<series key>`).
 */
export function seriesKey(name: AggregateName, labels: Readonly<Record<string, string>>): string {
  return `${name}${JSON.stringify(aggregateLabels(name).map((label) => labels[label] ?? ''))}`;
}
