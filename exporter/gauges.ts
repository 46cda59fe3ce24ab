// Gauge maths over the materialized view, maintained incrementally: each change of a
// run or job moves it between label sets in O(1) (the oldest-queued minimum rescans
// only its own label set, and only when the minimum itself leaves), so a view of
// 100k series never rescans on scrape. A label set with no active entity shows 0 and
// disappears once it has been empty for the completed-retention window (a job also
// leaves a label set when its runner group becomes known, so membership alone would
// drop the series at once).
import type { JobState, JobStatus, Labels, RunState, RunStatus } from '../schemas/model.js';

export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = [
  'requested',
  'queued',
  'pending',
  'waiting',
  'in_progress',
];
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ['queued', 'waiting', 'in_progress'];

export interface GaugeSample {
  /** Stable per series while it is served (the same object on every snapshot). */
  labels: Labels;
  value: number;
}

export interface GaugeSnapshot {
  runs: GaugeSample[];
  jobs: GaugeSample[];
  oldestQueued: GaugeSample[];
}

interface CountSet {
  labels: Labels;
  /** Active entities of this label set. */
  members: number;
  /** When members last dropped to 0 (undefined while some are active). */
  emptySince: number | undefined;
  counts: Map<string, number>;
  /** The served labels per status, built once: a stable object a renderer can cache by. */
  statusLabels: Map<string, Labels>;
}

interface QueuedSet {
  labels: Labels;
  members: number;
  emptySince: number | undefined;
  /** created_at (seconds) → how many queued jobs have it. */
  createdAt: Map<number, number>;
  oldest: number | undefined;
}

const isActiveRun = (run: RunState) => run.status !== 'completed' && run.expiredAt === null;
const isActiveJob = (job: JobState) => job.status !== 'completed' && job.expiredAt === null;

function runLabels(run: RunState): Labels {
  return { repository: run.repository, workflow: run.workflow, event: run.event };
}

function jobLabels(job: JobState): Labels {
  return {
    repository: job.repository,
    workflow: job.workflow,
    runner_group: job.runnerGroup,
    labels: job.labels,
  };
}

function queueLabels(job: JobState): Labels {
  return { runner_group: job.runnerGroup, labels: job.labels };
}

const keyOf = (labels: Labels) => JSON.stringify(Object.values(labels));

export class GaugeIndex {
  private readonly runSets = new Map<string, CountSet>();
  private readonly jobSets = new Map<string, CountSet>();
  private readonly queuedSets = new Map<string, QueuedSet>();

  /**
   * @param retentionMs how long an empty label set is still served (at 0)
   * @param now the clock; the exporter passes wall time, tests a fake one
   */
  constructor(
    private readonly retentionMs: number,
    private readonly now: () => number,
  ) {}

  /** Moves a run from its previous state to its next (undefined = absent). */
  upsertRun(previous: RunState | undefined, next: RunState | undefined): void {
    if (previous && isActiveRun(previous)) this.count(this.runSets, runLabels(previous), previous.status, -1);
    if (next && isActiveRun(next)) this.count(this.runSets, runLabels(next), next.status, 1);
  }

  removeRun(previous: RunState): void {
    this.upsertRun(previous, undefined);
  }

  upsertJob(previous: JobState | undefined, next: JobState | undefined): void {
    if (previous && isActiveJob(previous)) {
      this.count(this.jobSets, jobLabels(previous), previous.status, -1);
      this.queued(previous, -1);
    }
    if (next && isActiveJob(next)) {
      this.count(this.jobSets, jobLabels(next), next.status, 1);
      this.queued(next, 1);
    }
  }

  removeJob(previous: JobState): void {
    this.upsertJob(previous, undefined);
  }

  private count(sets: Map<string, CountSet>, labels: Labels, status: string, change: 1 | -1): void {
    const key = keyOf(labels);
    let set = sets.get(key);
    if (!set) {
      if (change < 0) return;
      set = { labels, members: 0, emptySince: undefined, counts: new Map(), statusLabels: new Map() };
      sets.set(key, set);
    }
    set.members += change;
    set.counts.set(status, (set.counts.get(status) ?? 0) + change);
    if (!set.statusLabels.has(status)) set.statusLabels.set(status, { ...set.labels, status });
    set.emptySince = set.members <= 0 ? this.now() : undefined;
  }

  private queued(job: JobState, change: 1 | -1): void {
    const labels = queueLabels(job);
    const key = keyOf(labels);
    let set = this.queuedSets.get(key);
    if (!set) {
      if (change < 0) return;
      set = { labels, members: 0, emptySince: undefined, createdAt: new Map(), oldest: undefined };
      this.queuedSets.set(key, set);
    }
    set.members += change;
    set.emptySince = set.members <= 0 ? this.now() : undefined;
    // Waiting jobs are excluded: they wait for an approval, not for a runner.
    if (job.status === 'queued' && job.createdAt !== null) {
      const at = Math.floor(job.createdAt / 1000);
      const count = (set.createdAt.get(at) ?? 0) + change;
      if (count > 0) set.createdAt.set(at, count);
      else set.createdAt.delete(at);
      if (change > 0) set.oldest = set.oldest === undefined ? at : Math.min(set.oldest, at);
      else if (count <= 0 && set.oldest === at) set.oldest = minKey(set.createdAt);
    }
  }

  /** Forgets label sets that have been empty for longer than the retention. */
  private prune(): void {
    const cutoff = this.now() - this.retentionMs;
    const sets: Array<Map<string, { emptySince: number | undefined }>> = [
      this.runSets,
      this.jobSets,
      this.queuedSets,
    ];
    for (const map of sets) {
      for (const [key, set] of map)
        if (set.emptySince !== undefined && set.emptySince < cutoff) map.delete(key);
    }
  }

  snapshot(): GaugeSnapshot {
    this.prune();
    const runs: GaugeSample[] = [];
    for (const set of this.runSets.values()) {
      for (const status of ACTIVE_RUN_STATUSES) {
        const value = set.counts.get(status);
        // Statuses never seen in a label set are not invented; seen ones stay, at 0.
        if (value !== undefined) runs.push({ labels: set.statusLabels.get(status)!, value });
      }
    }
    const jobs: GaugeSample[] = [];
    for (const set of this.jobSets.values()) {
      for (const status of ACTIVE_JOB_STATUSES) {
        const value = set.counts.get(status);
        if (value !== undefined) jobs.push({ labels: set.statusLabels.get(status)!, value });
      }
    }
    const oldestQueued: GaugeSample[] = [];
    for (const set of this.queuedSets.values())
      oldestQueued.push({ labels: set.labels, value: set.oldest ?? 0 });
    return { runs, jobs, oldestQueued };
  }
}

function minKey(map: Map<number, number>): number | undefined {
  let min: number | undefined;
  for (const key of map.keys()) if (min === undefined || key < min) min = key;
  return min;
}
