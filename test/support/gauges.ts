// The two sides of every gauge assertion, written from the metric definitions without
// the processor's or the exporter's code: the gauges a set of runs and jobs implies,
// and the gauges the partitions' gauge aggregates serve. Series whose label set has no
// active entity (kept at 0 for a while) are left out of both. The last-received time
// (runstream_delivery_last_received_timestamp_seconds) says when deliveries came, not
// what the runs and jobs are: it is left out here and checked by
// oracle.ts's expectedLastReceived.
import type { AggregateValue, JobState, RunState } from '../../schemas/model.js';
import { sampleKey } from './exposition.js';

const active = (e: { status: string; expiredAt: number | null }) =>
  e.status !== 'completed' && e.expiredAt === null;

/** Active counts per label set and status, busy runners (jobs in progress) per runner
 * group and labels, and per (runner group, labels) with an active
 * job the created_at (Unix seconds) of its oldest queued job, 0 when none is queued. */
export function gaugesOf(runs: Iterable<RunState>, jobs: Iterable<JobState>): Map<string, number> {
  const out = new Map<string, number>();
  const bump = (key: string) => out.set(key, (out.get(key) ?? 0) + 1);
  for (const r of runs) {
    if (!active(r)) continue;
    bump(
      sampleKey('github_actions_workflow_runs', {
        repository: r.repository,
        workflow: r.workflow,
        event: r.event,
        status: r.status,
      }),
    );
  }
  const oldest = new Map<string, number>();
  for (const j of jobs) {
    if (!active(j)) continue;
    bump(
      sampleKey('github_actions_jobs', {
        repository: j.repository,
        workflow: j.workflow,
        runner_group: j.runnerGroup,
        labels: j.labels,
        status: j.status,
      }),
    );
    // A job in progress holds a runner of its group and labels.
    if (j.status === 'in_progress') {
      bump(sampleKey('github_actions_runners_busy', { runner_group: j.runnerGroup, labels: j.labels }));
    }
    const key = sampleKey('github_actions_job_oldest_queued_timestamp_seconds', {
      runner_group: j.runnerGroup,
      labels: j.labels,
    });
    // Demand per pool with no pools configured: a queued job's pool is its labels, or, with
    // none (a runner group target), the group the payload names, else "(unlabelled)".
    if (j.status === 'queued') {
      const pool =
        j.labels !== '' ? j.labels : j.runnerGroup !== '' ? `group:${j.runnerGroup}` : '(unlabelled)';
      bump(sampleKey('github_actions_pool_queued_jobs', { pool }));
    }
    const created = j.status === 'queued' && j.createdAt !== null ? Math.floor(j.createdAt / 1000) : 0;
    const seen = oldest.get(key);
    oldest.set(
      key,
      seen === undefined ? created : seen === 0 ? created : created === 0 ? seen : Math.min(seen, created),
    );
  }
  for (const [key, value] of oldest) out.set(key, value);
  return out;
}

/** What the gauge aggregates of every partition serve together. */
export function servedGauges(values: Iterable<AggregateValue>): Map<string, number> {
  const series = new Map<string, { value: number; members: number; min: boolean }>();
  for (const v of values) {
    if (v.kind !== 'gauge' || v.name === 'runstream_delivery_last_received_timestamp_seconds') continue;
    const key = sampleKey(v.name, v.labels);
    const min = v.name === 'github_actions_job_oldest_queued_timestamp_seconds';
    const seen = series.get(key) ?? { value: 0, members: 0, min };
    seen.members += v.members;
    if (!min) seen.value += v.value;
    else if (v.value > 0 && (seen.value === 0 || v.value < seen.value)) seen.value = v.value;
    series.set(key, seen);
  }
  return new Map([...series].filter(([, s]) => s.members > 0).map(([key, s]) => [key, s.value]));
}
