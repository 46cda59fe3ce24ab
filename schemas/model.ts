// The data model runstream's roles share: a run attempt and a job as the processors
// hold them and write them to the changelogs, and the cumulative value of an
// aggregate series. Plain, serialisable values; times are epoch milliseconds (null
// when GitHub did not say).
import type { CounterName, GaugeName, HistogramName } from './metrics.js';

export type RunStatus = 'requested' | 'queued' | 'pending' | 'waiting' | 'in_progress' | 'completed';
export type JobStatus = 'queued' | 'waiting' | 'in_progress' | 'completed';
export type BranchKind = '' | 'default' | 'other';

/** A run attempt; key `<runId>:<runAttempt>`. */
export interface RunState {
  runId: number;
  runAttempt: number;
  repository: string;
  workflow: string;
  event: string;
  /**
   * `default` when the run is for the repository's default branch, `other` for another;
   * '' or absent when unknown (states built before it was kept read as '').
   */
  branchKind?: BranchKind;
  /**
   * The label set (repository, workflow) was refused by the partition's cap: every series
   * of this run shows them as `(other)`. Absent in states stored before the caps (false).
   */
  overflow?: boolean;
  status: RunStatus;
  conclusion: string | null;
  createdAt: number | null;
  runStartedAt: number | null;
  updatedAt: number | null;
  /** Processing time of the first event seen (basis for stale expiry). */
  firstSeenAt: number;
  /** Processing time of the first completion (basis for retention). */
  completedSeenAt: number | null;
  /** Set when the run was expired as stale; it no longer counts in active gauges. */
  expiredAt: number | null;
}

/** A job; key = job id. */
export interface JobState {
  jobId: number;
  runId: number;
  runAttempt: number;
  repository: string;
  workflow: string;
  /** runs-on labels, sorted, comma-joined. */
  labels: string;
  runnerGroup: string;
  /** As for its run: the branch it runs for, against the repository's default branch. */
  branchKind?: BranchKind;
  /** As for a run, for the label set (repository, workflow, runner group, labels). */
  overflow?: boolean;
  runnerName: string | null;
  status: JobStatus;
  conclusion: string | null;
  createdAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
  /** Processing time of the first event seen. */
  firstSeenAt: number;
  /** Processing time the queue duration was observed (started, with both times known). */
  startedSeenAt: number | null;
  completedSeenAt: number | null;
  expiredAt: number | null;
}

/**
 * One job name's attempts in one run, as far as flakiness goes (processor/core/reruns.ts);
 * key `#rerun|<runId>|<job name>` in the aggregates changelog.
 */
export interface RerunState {
  /** The lowest attempt whose job of this name concluded failure or timed_out; null: none seen. */
  firstFailedAttempt: number | null;
  /** The highest attempt whose job of this name concluded success; null: none seen. */
  lastSucceededAttempt: number | null;
  /** Processing time the flaky counter was incremented for it; null: not (yet). */
  countedAt: number | null;
  /** Processing time of its last change (the basis of its retention). */
  updatedAt: number;
}

/** Label names in a fixed order per family; values are strings. */
export type Labels = Readonly<Record<string, string>>;

/** Value of one aggregate series within one partition: cumulative for counters and
 * histograms, current for gauges. */
export type AggregateValue =
  | {
      kind: 'gauge';
      name: GaugeName;
      labels: Labels;
      /** Active entities (count gauges), or the oldest queued job's created_at (Unix s, 0: none). */
      value: number;
      /** Active entities of the label set (for the oldest-queued gauge: jobs of its runner group and labels). */
      members: number;
      /** When members last dropped to 0; null while some are active. */
      emptySince: number | null;
    }
  | { kind: 'counter'; name: CounterName; labels: Labels; value: number }
  | {
      kind: 'histogram';
      name: HistogramName;
      labels: Labels;
      /** Non-cumulative counts per bucket of the family's buckets, plus one for +Inf. */
      bucketCounts: number[];
      sum: number;
      count: number;
    };
