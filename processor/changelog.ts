// The changelog format shared by the processor (writes, restores) and the exporter
// (reads): a topic per kind, its keys, and the codecs of its values.

import type { TopicNames } from '../platform/topics.js';
import { type AggregateRecord, codecs } from '../schemas/index.js';
import type { AggregateValue, CounterName, HistogramName, JobState, RunState } from './core/types.js';

export type ChangelogKind = 'dedupe' | 'runs' | 'jobs' | 'aggregates';

export const CHANGELOG_KINDS: readonly ChangelogKind[] = ['dedupe', 'runs', 'jobs', 'aggregates'];

export function changelogTopic(names: TopicNames, kind: ChangelogKind): string {
  switch (kind) {
    case 'dedupe':
      return names.dedupeChangelog;
    case 'runs':
      return names.runsChangelog;
    case 'jobs':
      return names.jobsChangelog;
    case 'aggregates':
      return names.aggregatesChangelog;
  }
}

/** Aggregates of different partitions must never share a key: `<partition>|<metric key>`. */
export function aggregateChangelogKey(partition: number, metricKey: string): string {
  return `${partition}|${metricKey}`;
}

export function toAggregateRecord(value: AggregateValue): AggregateRecord {
  return value.kind === 'counter'
    ? {
        kind: 'counter',
        name: value.name,
        labels: { ...value.labels },
        value: value.value,
        bucketCounts: [],
        sum: 0,
        count: 0,
      }
    : {
        kind: 'histogram',
        name: value.name,
        labels: { ...value.labels },
        value: 0,
        bucketCounts: [...value.bucketCounts],
        sum: value.sum,
        count: value.count,
      };
}

const COUNTER_NAMES: ReadonlySet<string> = new Set<CounterName>([
  'github_actions_workflow_runs_completed_total',
  'github_actions_jobs_completed_total',
]);
const HISTOGRAM_NAMES: ReadonlySet<string> = new Set<HistogramName>([
  'github_actions_job_queue_duration_seconds',
  'github_actions_job_duration_seconds',
  'github_actions_workflow_run_duration_seconds',
]);

export function fromAggregateRecord(record: AggregateRecord): AggregateValue {
  if (record.kind === 'counter') {
    if (!COUNTER_NAMES.has(record.name))
      throw new Error(`unknown counter ${record.name} in aggregate record`);
    return { kind: 'counter', name: record.name as CounterName, labels: record.labels, value: record.value };
  }
  if (!HISTOGRAM_NAMES.has(record.name))
    throw new Error(`unknown histogram ${record.name} in aggregate record`);
  return {
    kind: 'histogram',
    name: record.name as HistogramName,
    labels: record.labels,
    bucketCounts: record.bucketCounts,
    sum: record.sum,
    count: record.count,
  };
}

export const encodeRun = (state: RunState): Buffer => codecs.runState.encode(state);
export const decodeRun = (bytes: Buffer): RunState => codecs.runState.decode(bytes);
export const encodeJob = (state: JobState): Buffer => codecs.jobState.encode(state);
export const decodeJob = (bytes: Buffer): JobState => codecs.jobState.decode(bytes);
export const encodeAggregate = (value: AggregateValue): Buffer =>
  codecs.aggregate.encode(toAggregateRecord(value));
export const decodeAggregate = (bytes: Buffer): AggregateValue =>
  fromAggregateRecord(codecs.aggregate.decode(bytes));
export const encodeMarker = (firstSeenAt: number): Buffer => codecs.dedupeMarker.encode({ firstSeenAt });
export const decodeMarker = (bytes: Buffer): number => codecs.dedupeMarker.decode(bytes).firstSeenAt;
