// Gauge maths per partition: how a run's or job's change moves the active counts of
// its label sets, where a queued job stands in its set's created-at order, and the
// gauge aggregates those make. Processors keep the gauges as aggregates in the
// changelog (like counters), so an exporter's memory follows the number of series,
// not the number of runs and jobs retained.
import { type GaugeName, METRIC_FAMILIES, type MetricCatalogue } from '../../schemas/metrics.js';
import type { AggregateValue, JobState, Labels, RunState } from '../../schemas/model.js';
import { jobCappedValues, withOverflow } from './caps.js';

const RUNS = METRIC_FAMILIES.runs.name;
const JOBS = METRIC_FAMILIES.jobs.name;
const OLDEST = METRIC_FAMILIES.oldestQueued.name;
const POOL_QUEUED = METRIC_FAMILIES.poolQueued.name;
const BUSY = METRIC_FAMILIES.runnersBusy.name;

/** One entity entering (+1) or leaving (-1) a gauge label set (its raw values; the catalogue makes the series). */
export interface GaugeDelta {
  name: GaugeName;
  labels: Labels;
  change: 1 | -1;
}

/** Active: not completed and not expired as stale (expired ones leave the gauges). */
export const isActive = (entity: { status: string; expiredAt: number | null }): boolean =>
  entity.status !== 'completed' && entity.expiredAt === null;

function runMemberships(run: RunState | undefined): GaugeDelta[] {
  if (!run || !isActive(run)) return [];
  return [
    {
      name: RUNS,
      labels: withOverflow(
        'run',
        {
          repository: run.repository,
          workflow: run.workflow,
          event: run.event,
          status: run.status,
          branch_kind: run.branchKind ?? '',
        },
        run.overflow,
      ),
      change: 1,
    },
  ];
}

/**
 * The pools a job is demand for while it is queued (catalogue.demandPoolsOf): one
 * membership per pool, so a job several pools can take counts in each. A waiting job
 * waits for an approval, not for a runner: it is no demand.
 */
function demandMemberships(job: JobState, catalogue: MetricCatalogue): GaugeDelta[] {
  if (job.status !== 'queued') return [];
  return catalogue
    .demandPoolsOf(job)
    .map((pool) => ({ name: POOL_QUEUED, labels: { pool }, change: 1 as const }));
}

function jobMemberships(job: JobState | undefined, catalogue: MetricCatalogue): GaugeDelta[] {
  if (!job || !isActive(job)) return [];
  return [
    ...demandMemberships(job, catalogue),
    {
      name: JOBS,
      labels: withOverflow(
        'job',
        {
          repository: job.repository,
          workflow: job.workflow,
          runner_group: job.runnerGroup,
          labels: job.labels,
          status: job.status,
          branch_kind: job.branchKind ?? '',
        },
        job.overflow,
      ),
      change: 1,
    },
    // Every active job belongs to its (runner group, labels) set of the oldest-queued
    // gauge; the set's value is its oldest *queued* job (0 when none is queued).
    { name: OLDEST, labels: oldestQueuedLabels(job), change: 1 },
    // A job in progress holds one runner of its runner group (and pool: the catalogue
    // serves `labels` as the pool RUNSTREAM_RUNNER_POOLS names) until it completes or expires.
    ...(job.status === 'in_progress'
      ? [{ name: BUSY, labels: oldestQueuedLabels(job), change: 1 as const }]
      : []),
  ];
}

/** A job's set of the oldest-queued gauge (its raw values, or `(other)` when its label set overflowed). */
export function oldestQueuedLabels(job: JobState): Labels {
  const values = withOverflow('job', jobCappedValues(job), job.overflow);
  return { runner_group: values.runner_group ?? '', labels: values.labels ?? '' };
}

/** The memberships that change from one state to the next (unchanged series cancel out). */
function diff(previous: GaugeDelta[], next: GaugeDelta[], catalogue: MetricCatalogue): GaugeDelta[] {
  // From or to nothing (a new entity, a tombstone, every entity of a recount): no key to compare.
  if (previous.length === 0) return next;
  if (next.length === 0) return previous.map((d) => ({ ...d, change: -1 as const }));
  const key = (d: GaugeDelta) => catalogue.seriesKey(d.name, d.labels);
  const kept = new Set(next.map(key));
  const was = new Set(previous.map(key));
  return [
    ...previous.filter((d) => !kept.has(key(d))).map((d) => ({ ...d, change: -1 as const })),
    ...next.filter((d) => !was.has(key(d))),
  ];
}

export function runGaugeDeltas(
  previous: RunState | undefined,
  next: RunState | undefined,
  catalogue: MetricCatalogue,
): GaugeDelta[] {
  return diff(runMemberships(previous), runMemberships(next), catalogue);
}

export function jobGaugeDeltas(
  previous: JobState | undefined,
  next: JobState | undefined,
  catalogue: MetricCatalogue,
): GaugeDelta[] {
  return diff(jobMemberships(previous, catalogue), jobMemberships(next, catalogue), catalogue);
}

/** A queued job's place in its oldest-queued set: the set's series key, then created_at. */
export interface QueuePosition {
  set: string;
  createdSeconds: number;
  jobId: number;
}

export function queuePosition(
  job: JobState | undefined,
  catalogue: MetricCatalogue,
): QueuePosition | undefined {
  // Waiting jobs are excluded: they wait for an approval, not for a runner.
  if (!job || !isActive(job) || job.status !== 'queued' || job.createdAt === null) return undefined;
  return {
    set: catalogue.seriesKey(OLDEST, oldestQueuedLabels(job)),
    createdSeconds: Math.floor(job.createdAt / 1000),
    jobId: job.jobId,
  };
}

/**
 * A membership change applied to a partition's gauge aggregate, `times` times at once (a
 * recount's members of one series). A count gauge's value is its members; the
 * oldest-queued value is set apart (withOldest). A label set that loses its last member
 * remembers since when, so housekeeping can drop it after the completed-retention window.
 */
export function applyGaugeDelta(
  current: AggregateValue | undefined,
  delta: GaugeDelta,
  now: number,
  catalogue: MetricCatalogue,
  times = 1,
): AggregateValue {
  const before = current?.kind === 'gauge' ? current : undefined;
  const members = (before?.members ?? 0) + delta.change * times;
  return {
    kind: 'gauge',
    name: delta.name,
    labels: catalogue.seriesLabels(delta.name, delta.labels),
    members,
    value: delta.name === OLDEST ? (before?.value ?? 0) : members,
    emptySince: members > 0 ? null : before && before.members <= 0 ? before.emptySince : now,
  };
}

/** The oldest-queued aggregate of a set with its oldest queued job (undefined: none queued). */
export function withOldest(
  current: AggregateValue | undefined,
  labels: Labels,
  oldestSeconds: number | undefined,
  now: number,
  catalogue: MetricCatalogue,
): AggregateValue {
  const before = current?.kind === 'gauge' ? current : undefined;
  const members = before?.members ?? 0;
  return {
    kind: 'gauge',
    name: OLDEST,
    labels: catalogue.seriesLabels(OLDEST, labels),
    members,
    value: oldestSeconds ?? 0,
    emptySince: members > 0 ? null : (before?.emptySince ?? now),
  };
}

/** An emptied gauge series past the retention window: the shell tombstones it. */
export function isGaugeRetentionOver(value: AggregateValue, now: number, retentionMs: number): boolean {
  return (
    value.kind === 'gauge' &&
    value.members <= 0 &&
    value.emptySince !== null &&
    now - value.emptySince > retentionMs
  );
}

export const OLDEST_QUEUED = OLDEST;
