// The exported series a stream must produce, computed from what the stream's truth
// says happened (demo/stream.ts generateScenario), straight from the metric
// definitions in the design contract. It shares no code with the processor's core or
// the exporter: it is the independent side of the fault suite's comparisons.
import { createHash } from 'node:crypto';
import type { AttemptTruth, GeneratedDelivery, JobTruth } from '../../demo/stream.js';
import { sampleKey } from './exposition.js';

const BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600];

/** GitHub's timestamps have whole seconds; the stream's payloads carry them so. */
const seconds = (ms: number): number => Math.floor(ms / 1000);

type Series = Map<string, number>;

function add(series: Series, name: string, labels: Record<string, string>, value: number): void {
  const key = sampleKey(name, labels);
  series.set(key, (series.get(key) ?? 0) + value);
}

function observe(series: Series, name: string, labels: Record<string, string>, value: number): void {
  for (const le of BUCKETS) if (value <= le) add(series, `${name}_bucket`, { ...labels, le: String(le) }, 1);
  add(series, `${name}_bucket`, { ...labels, le: '+Inf' }, 1);
  add(series, `${name}_sum`, labels, value);
  add(series, `${name}_count`, labels, 1);
}

/**
 * Every non-zero `github_actions_` sample the exporters must serve once the stream is
 * processed (histogram buckets that stay 0 are included where their series exists).
 */
export function expectedSeries(truth: readonly AttemptTruth[]): Series {
  const series: Series = new Map();
  const oldest = new Map<string, { labels: Record<string, string>; at: number }>();
  // Per run and job name: its attempts' outcomes (the job's own attempt number).
  const attemptsOfJob = new Map<
    string,
    { labels: Record<string, string>; failed: number[]; succeeded: number[] }
  >();
  for (const attempt of truth) {
    const runLabels = { repository: attempt.repository, workflow: attempt.workflow, event: attempt.event };
    if (attempt.status === 'completed') {
      const conclusion = attempt.conclusion ?? '';
      add(series, 'github_actions_workflow_runs_completed_total', { ...runLabels, conclusion }, 1);
      observe(
        series,
        'github_actions_workflow_run_duration_seconds',
        { ...runLabels, conclusion },
        seconds(attempt.completedAtMs!) - seconds(attempt.runStartedAtMs),
      );
    } else {
      add(series, 'github_actions_workflow_runs', { ...runLabels, status: attempt.status }, 1);
    }
    for (const job of attempt.jobs) {
      const labels = [...job.labels].sort().join(',');
      const runnerGroup = job.runnerGroup ?? '';
      const jobLabels = {
        repository: attempt.repository,
        workflow: attempt.workflow,
        runner_group: runnerGroup,
        labels,
      };
      if (job.status !== 'completed') {
        add(series, 'github_actions_jobs', { ...jobLabels, status: job.status }, 1);
      }
      // Every job in progress holds one runner.
      if (job.status === 'in_progress') {
        add(series, 'github_actions_runners_busy', { runner_group: runnerGroup, labels }, 1);
      }
      if (job.status === 'completed') {
        const key = `${attempt.runId}\u0000${job.name}`;
        const seen = attemptsOfJob.get(key) ?? {
          labels: { repository: attempt.repository, workflow: attempt.workflow, job_name: job.name },
          failed: [],
          succeeded: [],
        };
        if (job.conclusion === 'failure' || job.conclusion === 'timed_out') seen.failed.push(attempt.attempt);
        if (job.conclusion === 'success') seen.succeeded.push(attempt.attempt);
        attemptsOfJob.set(key, seen);
      }
      if (job.status === 'queued') {
        // Demand per pool, no pools configured: the job's labels are its pool.
        add(series, 'github_actions_pool_queued_jobs', { pool: demandPoolsOf(job, [])[0]! }, 1);
        const key = `${runnerGroup}\u0000${labels}`;
        const at = seconds(job.createdAtMs);
        const seen = oldest.get(key);
        if (!seen || at < seen.at) oldest.set(key, { labels: { runner_group: runnerGroup, labels }, at });
      }
      if (job.startedAtMs !== null) {
        observe(
          series,
          'github_actions_job_queue_duration_seconds',
          { repository: attempt.repository, runner_group: runnerGroup, labels },
          seconds(job.startedAtMs) - seconds(job.createdAtMs),
        );
      }
      if (job.status === 'completed') {
        const conclusion = job.conclusion ?? '';
        add(series, 'github_actions_jobs_completed_total', { ...jobLabels, conclusion }, 1);
        // A job no runner took has a queue time at most, never a run time.
        if (job.startedAtMs !== null) {
          observe(
            series,
            'github_actions_job_duration_seconds',
            { repository: attempt.repository, workflow: attempt.workflow, conclusion },
            seconds(job.completedAtMs!) - seconds(job.startedAtMs),
          );
        }
      }
    }
  }
  // Flaky: some attempt succeeded after an earlier one failed; once per run and job name.
  for (const { labels, failed, succeeded } of attemptsOfJob.values()) {
    if (failed.some((f) => succeeded.some((ok) => ok > f))) {
      add(series, 'github_actions_jobs_flaky_total', labels, 1);
    }
  }
  for (const { labels, at } of oldest.values()) {
    series.set(sampleKey('github_actions_job_oldest_queued_timestamp_seconds', labels), at);
  }
  return series;
}

/**
 * A runner pool as GitHub routes to it: the labels its runners carry. `pools` empty
 * means none configured (first-match mode with no rules: a job's pool is its labels).
 */
export interface OraclePool {
  name: string;
  runnerLabels: readonly string[];
}

/**
 * The pools a queued job is demand for, from GitHub's documented routing rule, written
 * here without the catalogue: a runner can take a job when it carries every one of the
 * job's runs-on labels, compared without case; a job aimed at a runner group alone has
 * no labels, and is counted as `group:<group>` when its group is known, else
 * `(unlabelled)`; a labelled job no pool can take is `(unmatched)`.
 */
export function demandPoolsOf(
  job: Pick<JobTruth, 'labels' | 'runnerGroup'>,
  pools: readonly OraclePool[],
): string[] {
  if (job.labels.length === 0) return [job.runnerGroup ? `group:${job.runnerGroup}` : '(unlabelled)'];
  if (pools.length === 0) return [[...job.labels].sort().join(',')];
  const takers = pools.filter((pool) =>
    job.labels.every((label) =>
      pool.runnerLabels.some((carried) => carried.toUpperCase() === label.toUpperCase()),
    ),
  );
  return takers.length === 0 ? ['(unmatched)'] : takers.map((pool) => pool.name);
}

/** A job as the oracle needs it for demand: its labels, its group, and its status now (waiting included). */
export type DemandJob = Pick<JobTruth, 'labels' | 'runnerGroup'> & { status: string };

/**
 * github_actions_pool_queued_jobs in runner-labels mode with these pools: every pool a
 * queued job can go to counts it; a waiting job (an approval) is no demand.
 */
export function expectedPoolDemand(
  truth: readonly AttemptTruth[],
  pools: readonly OraclePool[],
  more: readonly DemandJob[] = [],
): Series {
  const series: Series = new Map();
  for (const job of [...truth.flatMap((attempt) => attempt.jobs), ...more]) {
    if (job.status !== 'queued') continue;
    for (const pool of demandPoolsOf(job, pools)) add(series, 'github_actions_pool_queued_jobs', { pool }, 1);
  }
  return series;
}

/** A delivery as ingest stamped it: its repository and when it was received (epoch ms). */
export interface ReceivedDelivery {
  repository: string;
  receivedAtMs: number;
}

/**
 * runstream_delivery_last_received_timestamp_seconds (no caps reached): per repository,
 * the latest time any of its deliveries was received, duplicates included.
 */
export function expectedLastReceived(deliveries: readonly ReceivedDelivery[]): Series {
  const latest = new Map<string, number>();
  for (const { repository, receivedAtMs } of deliveries) {
    latest.set(repository, Math.max(latest.get(repository) ?? -Infinity, receivedAtMs));
  }
  const series: Series = new Map();
  for (const [repository, ms] of latest) {
    series.set(sampleKey('runstream_delivery_last_received_timestamp_seconds', { repository }), ms / 1000);
  }
  return series;
}

const GAUGES = new Set([
  'github_actions_workflow_runs',
  'github_actions_jobs',
  'github_actions_job_oldest_queued_timestamp_seconds',
  'github_actions_pool_queued_jobs',
  'github_actions_runners_busy',
]);

/**
 * The differences between served and expected samples, one line each. Gauge samples
 * at 0 are dropped first (a label set whose entities all finished is served at 0 for a
 * while); histogram buckets at 0 are compared like any sample.
 */
export function seriesDiff(actual: Series, expected: Series, limit = 20): string[] {
  const served = new Map([...actual].filter(([key, value]) => !(value === 0 && GAUGES.has(nameOf(key)))));
  const diffs: string[] = [];
  for (const [key, value] of expected) {
    const got = served.get(key);
    if (got === undefined) {
      if (value !== 0) diffs.push(`missing ${key} (expected ${value})`);
    } else if (Math.abs(got - value) > 1e-9) diffs.push(`${key}: served ${got}, expected ${value}`);
  }
  for (const [key, value] of served) {
    if (!expected.has(key) && value !== 0) diffs.push(`unexpected ${key} = ${value}`);
  }
  return diffs.length > limit ? [...diffs.slice(0, limit), `... and ${diffs.length - limit} more`] : diffs;
}

function nameOf(key: string): string {
  return key.slice(0, key.indexOf('{'));
}

/**
 * A label value as served (docs/metrics.md, "Values"): longer than `maxLength` Unicode
 * code points, its first `maxLength` followed by `…(truncated <12 hex digits of the
 * SHA-256 of the whole>)`; else as it is.
 */
export function servedLabelValue(value: string, maxLength: number): string {
  const points = Array.from(value);
  if (points.length <= maxLength) return value;
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 12);
  return `${points.slice(0, maxLength).join('')}…(truncated ${digest})`;
}

export interface AdmissionOptions {
  /** The deliveries partition of a run id (the contract's Java-compatible partitioner). */
  partitionOf: (runId: number) => number;
  caps: { run: number; job: number };
  maxLength: number;
}

/**
 * The run and job label sets each partition admits under the caps, with their ordinals,
 * by `<partition>|<kind>|<JSON array of the served values>`, from the definitions in
 * docs/metrics.md ("Caps") and the deliveries in the order they were published: a
 * partition admits, first come first served in partition order, the first `cap` distinct
 * run label sets (repository, workflow) and job label sets (repository, workflow,
 * runner group, labels); a label set enters an entity when the entity is new (its first
 * delivery, duplicates dropped) and again when a value fills in (a job's runner group,
 * once a runner takes it). Flaky label sets (their own cap) are not modelled here.
 */
export function expectedAdmissions(
  deliveries: readonly GeneratedDelivery[],
  options: AdmissionOptions,
): Map<string, number> {
  const { partitionOf, caps, maxLength } = options;
  const served = (value: string) => servedLabelValue(value, maxLength);
  const admitted = new Map<string, number>();
  const counts = new Map<string, number>();
  const enter = (partition: number, kind: 'run' | 'job', values: string[]) => {
    const key = `${partition}|${kind}|${JSON.stringify(values.map(served))}`;
    if (admitted.has(key)) return;
    const count = counts.get(`${partition}|${kind}`) ?? 0;
    if (count >= caps[kind]) return;
    counts.set(`${partition}|${kind}`, count + 1);
    admitted.set(key, count + 1);
  };
  const seen = new Set<string>();
  const runs = new Set<string>();
  /** Per job id: its runner group so far ('' until a runner takes it). */
  const jobs = new Map<number, string>();
  for (const d of deliveries) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    const repository = String((d.payload.repository as { full_name: string }).full_name);
    if (d.event === 'workflow_run') {
      const run = d.payload.workflow_run as { id: number; run_attempt: number; name: string | null };
      const key = `${run.id}:${run.run_attempt}`;
      if (runs.has(key)) continue;
      runs.add(key);
      enter(partitionOf(run.id), 'run', [repository, run.name ?? '']);
    } else {
      const job = d.payload.workflow_job as {
        id: number;
        run_id: number;
        workflow_name: string | null;
        labels: string[];
        runner_group_name: string | null;
      };
      const group = job.runner_group_name ?? '';
      const known = jobs.get(job.id);
      if (known !== undefined && (known !== '' || group === '')) continue;
      jobs.set(job.id, group);
      const labels = [...job.labels].sort().join(',');
      enter(partitionOf(job.run_id), 'job', [repository, job.workflow_name ?? '', group, labels]);
    }
  }
  return admitted;
}
