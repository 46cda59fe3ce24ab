// Avro schemas of the processor's changelog values (and its RocksDB values, which
// are the same bytes). Evolve additively only and register versions in registry.ts.
const nullableLong = ['null', 'long'] as const;
const nullableString = ['null', 'string'] as const;

export const runStateSchemaV1 = {
  type: 'record',
  name: 'RunState',
  namespace: 'dev.runstream',
  fields: [
    { name: 'runId', type: 'long' },
    { name: 'runAttempt', type: 'int' },
    { name: 'repository', type: 'string' },
    { name: 'workflow', type: 'string' },
    { name: 'event', type: 'string' },
    { name: 'status', type: 'string' },
    { name: 'conclusion', type: nullableString, default: null },
    { name: 'createdAt', type: nullableLong, default: null },
    { name: 'runStartedAt', type: nullableLong, default: null },
    { name: 'updatedAt', type: nullableLong, default: null },
    { name: 'firstSeenAt', type: 'long' },
    { name: 'completedSeenAt', type: nullableLong, default: null },
    { name: 'expiredAt', type: nullableLong, default: null },
  ],
} as const;

export const jobStateSchemaV1 = {
  type: 'record',
  name: 'JobState',
  namespace: 'dev.runstream',
  fields: [
    { name: 'jobId', type: 'long' },
    { name: 'runId', type: 'long' },
    { name: 'runAttempt', type: 'int' },
    { name: 'repository', type: 'string' },
    { name: 'workflow', type: 'string' },
    { name: 'labels', type: 'string' },
    { name: 'runnerGroup', type: 'string' },
    { name: 'runnerName', type: nullableString, default: null },
    { name: 'status', type: 'string' },
    { name: 'conclusion', type: nullableString, default: null },
    { name: 'createdAt', type: nullableLong, default: null },
    { name: 'startedAt', type: nullableLong, default: null },
    { name: 'completedAt', type: nullableLong, default: null },
    { name: 'firstSeenAt', type: 'long' },
    { name: 'startedSeenAt', type: nullableLong, default: null },
    { name: 'completedSeenAt', type: nullableLong, default: null },
    { name: 'expiredAt', type: nullableLong, default: null },
  ],
} as const;

/** V2 of a run and a job add the branch kind (branch_kind, docs/metrics.md). */
export const runStateSchemaV2 = {
  ...runStateSchemaV1,
  fields: [...runStateSchemaV1.fields, { name: 'branchKind', type: 'string', default: '' }],
} as const;

export const jobStateSchemaV2 = {
  ...jobStateSchemaV1,
  fields: [...jobStateSchemaV1.fields, { name: 'branchKind', type: 'string', default: '' }],
} as const;

/**
 * V3 of a run and a job add `overflow`: whether the label set of the state's repository,
 * workflow (and for a job runner group and labels) was refused by the partition's cap
 * (RUNSTREAM_METRIC_MAX_*_LABEL_SETS, docs/metrics.md), so that its series carry
 * `(other)`. Decided when the label set enters the entity and kept with it.
 */
export const runStateSchemaV3 = {
  ...runStateSchemaV2,
  fields: [...runStateSchemaV2.fields, { name: 'overflow', type: 'boolean', default: false }],
} as const;

export const jobStateSchemaV3 = {
  ...jobStateSchemaV2,
  fields: [...jobStateSchemaV2.fields, { name: 'overflow', type: 'boolean', default: false }],
} as const;

export const aggregateSchemaV1 = {
  type: 'record',
  name: 'Aggregate',
  namespace: 'dev.runstream',
  doc: 'Cumulative value of one counter or histogram series within one partition.',
  fields: [
    { name: 'kind', type: { type: 'enum', name: 'AggregateKind', symbols: ['counter', 'histogram'] } },
    { name: 'name', type: 'string' },
    { name: 'labels', type: { type: 'map', values: 'string' } },
    { name: 'value', type: 'double', default: 0, doc: 'counter value' },
    { name: 'bucketCounts', type: { type: 'array', items: 'long' }, default: [] },
    { name: 'sum', type: 'double', default: 0 },
    { name: 'count', type: 'long', default: 0 },
  ],
} as const;

/** V2 adds gauges (active entities per label set, and the oldest queued job), which
 * processors keep per partition so that exporters read aggregates only. */
export const aggregateSchemaV2 = {
  type: 'record',
  name: 'Aggregate',
  namespace: 'dev.runstream',
  doc: 'Cumulative value of one counter or histogram series, or the current value of one gauge series, within one partition.',
  fields: [
    {
      name: 'kind',
      type: { type: 'enum', name: 'AggregateKind', symbols: ['counter', 'histogram', 'gauge'] },
    },
    { name: 'name', type: 'string' },
    { name: 'labels', type: { type: 'map', values: 'string' } },
    { name: 'value', type: 'double', default: 0, doc: 'counter value; gauge value' },
    { name: 'bucketCounts', type: { type: 'array', items: 'long' }, default: [] },
    { name: 'sum', type: 'double', default: 0 },
    {
      name: 'count',
      type: 'long',
      default: 0,
      doc: 'histogram observations; gauge: active entities of the label set',
    },
    {
      name: 'emptySince',
      type: ['null', 'long'],
      default: null,
      doc: 'gauge: when its label set last lost its last active entity (null while it has some)',
    },
  ],
} as const;

export const dedupeMarkerSchemaV1 = {
  type: 'record',
  name: 'DedupeMarker',
  namespace: 'dev.runstream',
  fields: [{ name: 'firstSeenAt', type: 'long' }],
} as const;

/**
 * A label set the partition admitted under its cap (its ordinal, 1 for the first), or,
 * under the count key of its entity kind, how many were admitted. Kept in the aggregates
 * changelog under keys exporters skip (changelog.ts, isAdmissionKey).
 */
export const admissionSchemaV1 = {
  type: 'record',
  name: 'Admission',
  namespace: 'dev.runstream',
  fields: [{ name: 'ordinal', type: 'long' }],
} as const;

/**
 * What a partition knows of one job name's attempts in one run (RerunState in model.ts;
 * processor/core/reruns.ts says why this is enough), in the aggregates changelog under
 * keys exporters skip (changelog.ts, rerunKey).
 */
export const rerunSchemaV1 = {
  type: 'record',
  name: 'Rerun',
  namespace: 'dev.runstream',
  fields: [
    { name: 'firstFailedAttempt', type: ['null', 'int'], default: null },
    { name: 'lastSucceededAttempt', type: ['null', 'int'], default: null },
    { name: 'countedAt', type: nullableLong, default: null },
    { name: 'updatedAt', type: 'long' },
  ],
} as const;

export interface Admission {
  ordinal: number;
}

export interface DedupeMarker {
  firstSeenAt: number;
}

/** The Avro form of an AggregateValue (one record shape for every kind). */
export interface AggregateRecord {
  kind: 'counter' | 'histogram' | 'gauge';
  name: string;
  labels: Record<string, string>;
  value: number;
  bucketCounts: number[];
  sum: number;
  count: number;
  emptySince: number | null;
}
