// The changelogs' wire format, which processors write and exporters read: a topic per
// kind, the keys, and the codecs of the values (null is a tombstone).
import type { TopicNames } from '../platform/topics.js';
import { codecs } from './codecs.js';
import { isCounterName, isGaugeName, isHistogramName, type LabelSetKind } from './metrics.js';
import type { AggregateValue, JobState, RerunState, RunState } from './model.js';
import type { AggregateRecord } from './state.js';

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

/** Aggregates of different partitions must never share a key: `<partition>|<series key>`. */
export function aggregateChangelogKey(partition: number, seriesKey: string): string {
  return `${partition}|${seriesKey}`;
}

/** The partition and series key of an aggregates changelog key. */
export function parseAggregateChangelogKey(key: string): { partition: number; seriesKey: string } {
  const bar = key.indexOf('|');
  const partition = Number(key.slice(0, bar));
  if (bar < 1 || !Number.isInteger(partition)) throw new Error(`aggregate key ${key} has no partition`);
  return { partition, seriesKey: key.slice(bar + 1) };
}

/**
 * Admission records (the label sets a partition admitted under its caps, and their count
 * per entity kind) live in the aggregates changelog beside the series they bound, so they
 * commit in the same transaction and restore with them. Their series keys start with
 * `#admitted|`, which no family name does; exporters, recounts and housekeeping skip them.
 */
const ADMISSION_PREFIX = '#admitted|';

export type AdmissionKind = LabelSetKind;

export const isAdmissionKey = (seriesKey: string): boolean => seriesKey.startsWith(ADMISSION_PREFIX);

/**
 * Re-run records (RerunState, processor/core/reruns.ts): what a partition knows of one
 * job name's attempts in one run, kept in the aggregates changelog like the admission
 * records (same transaction, same restore), under `#rerun|<run id>|<job name>`.
 */
const RERUN_PREFIX = '#rerun|';

export const rerunKey = (runId: number, jobName: string): string => `${RERUN_PREFIX}${runId}|${jobName}`;

export const isRerunKey = (seriesKey: string): boolean => seriesKey.startsWith(RERUN_PREFIX);

/** The series key holding how many label sets of this kind the partition admitted. */
export const admissionCountKey = (kind: AdmissionKind): string => `${ADMISSION_PREFIX}${kind}`;

/** The series key of one admitted label set (as labelSetKey makes it). */
export const admissionKey = (kind: AdmissionKind, labelSet: string): string =>
  `${ADMISSION_PREFIX}${kind}|${labelSet}`;

/**
 * The input position record: in every transaction a processor commits, the last record
 * it writes to the aggregates changelog partition is `<partition>|#input`, whose value is
 * the next deliveries offset of that partition the transaction's state reflects (decimal
 * text). Being in the same partition and the same transaction as the aggregates it
 * describes, it gives any read_committed reader an exact cut: the partition's aggregates
 * up to and including a position record are the result of the deliveries before that
 * offset, with no race against the group's offset commit (`runstream verify` reads it;
 * docs/verify.md). Like admission records, it is no series: exporters, recounts and
 * housekeeping skip every key isReservedKey names.
 */
export const INPUT_POSITION_KEY = '#input';

export const encodeInputPosition = (nextOffset: bigint): Buffer => Buffer.from(nextOffset.toString());

export function decodeInputPosition(bytes: Buffer): bigint {
  const text = bytes.toString('utf8');
  if (!/^\d+$/.test(text))
    throw new Error(`input position record holds ${JSON.stringify(text)}, not an offset`);
  return BigInt(text);
}

/**
 * Whether an aggregates changelog key holds no series: an admission, re-run or input
 * position record (their keys start with `#`, which no family name does). Exporters,
 * recounts, housekeeping of series, verify and any reader of the series skip them.
 */
export const isReservedKey = (seriesKey: string): boolean => seriesKey.startsWith('#');

export const encodeAdmission = (ordinal: number): Buffer => codecs.admission.encode({ ordinal });
export const decodeAdmission = (bytes: Buffer): number => codecs.admission.decode(bytes).ordinal;

export function toAggregateRecord(value: AggregateValue): AggregateRecord {
  const base = {
    name: value.name,
    labels: { ...value.labels },
    value: 0,
    bucketCounts: [],
    sum: 0,
    count: 0,
  };
  switch (value.kind) {
    case 'counter':
      return { ...base, kind: 'counter', value: value.value, emptySince: null };
    case 'gauge':
      return {
        ...base,
        kind: 'gauge',
        value: value.value,
        count: value.members,
        emptySince: value.emptySince,
      };
    case 'histogram':
      return {
        ...base,
        kind: 'histogram',
        bucketCounts: [...value.bucketCounts],
        sum: value.sum,
        count: value.count,
        emptySince: null,
      };
  }
}

export function fromAggregateRecord(record: AggregateRecord): AggregateValue {
  const { name } = record;
  if (record.kind === 'gauge') {
    if (!isGaugeName(name)) throw new Error(`unknown gauge ${name} in aggregate record`);
    return {
      kind: 'gauge',
      name,
      labels: record.labels,
      value: record.value,
      members: record.count,
      emptySince: record.emptySince,
    };
  }
  if (record.kind === 'counter') {
    if (!isCounterName(name)) throw new Error(`unknown counter ${name} in aggregate record`);
    return { kind: 'counter', name, labels: record.labels, value: record.value };
  }
  if (!isHistogramName(name)) throw new Error(`unknown histogram ${name} in aggregate record`);
  return {
    kind: 'histogram',
    name,
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
export const encodeRerun = (state: RerunState): Buffer => codecs.rerun.encode(state);
export const decodeRerun = (bytes: Buffer): RerunState => codecs.rerun.decode(bytes);
export const encodeMarker = (firstSeenAt: number): Buffer => codecs.dedupeMarker.encode({ firstSeenAt });
export const decodeMarker = (bytes: Buffer): number => codecs.dedupeMarker.decode(bytes).firstSeenAt;
