// The processor's data model: plain, serialisable values shared by the pure core,
// the stores, the changelog schemas and the exporter's view. Times are epoch
// milliseconds (null when GitHub did not say).

/** What the processor reads from a Delivery before any state is touched. */
export interface DeliveryInput {
  deliveryId: string;
  event: string;
  /** Parsed JSON body. */
  payload: unknown;
  receivedAt: number;
}

export type RunStatus = 'requested' | 'queued' | 'pending' | 'waiting' | 'in_progress' | 'completed';
export type JobStatus = 'queued' | 'waiting' | 'in_progress' | 'completed';

/** One workflow_run event reduced to the fields runstream keeps. */
export interface RunObservation {
  kind: 'run';
  runId: number;
  runAttempt: number;
  repository: string;
  workflow: string;
  event: string;
  status: RunStatus;
  conclusion: string | null;
  createdAt: number | null;
  runStartedAt: number | null;
  updatedAt: number | null;
}

/** One workflow_job event reduced to the fields runstream keeps. */
export interface JobObservation {
  kind: 'job';
  jobId: number;
  runId: number;
  runAttempt: number;
  repository: string;
  workflow: string;
  /** runs-on labels, sorted, comma-joined. */
  labels: string;
  runnerGroup: string;
  runnerName: string | null;
  status: JobStatus;
  conclusion: string | null;
  createdAt: number | null;
  startedAt: number | null;
  completedAt: number | null;
}

export type Observation = RunObservation | JobObservation;

/** A run attempt as the processor holds it; key `<runId>:<runAttempt>`. */
export interface RunState {
  runId: number;
  runAttempt: number;
  repository: string;
  workflow: string;
  event: string;
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

/** A job as the processor holds it; key = job id. */
export interface JobState {
  jobId: number;
  runId: number;
  runAttempt: number;
  repository: string;
  workflow: string;
  labels: string;
  runnerGroup: string;
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

/** The counter and histogram families kept as aggregates (DESIGN.md "Metrics"). */
export type CounterName =
  | 'github_actions_workflow_runs_completed_total'
  | 'github_actions_jobs_completed_total';
export type HistogramName =
  | 'github_actions_job_queue_duration_seconds'
  | 'github_actions_job_duration_seconds'
  | 'github_actions_workflow_run_duration_seconds';
export type AggregateName = CounterName | HistogramName;

/** Label names in a fixed order per family; values are strings. */
export type Labels = Readonly<Record<string, string>>;

/** One change to one aggregate series caused by a first transition. */
export type AggregateDelta =
  | { kind: 'counter'; name: CounterName; labels: Labels; increment: number }
  | { kind: 'histogram'; name: HistogramName; labels: Labels; observeSeconds: number };

/** Cumulative value of one aggregate series within one partition. */
export type AggregateValue =
  | { kind: 'counter'; name: CounterName; labels: Labels; value: number }
  | {
      kind: 'histogram';
      name: HistogramName;
      labels: Labels;
      /** Non-cumulative counts per bucket of HISTOGRAM_BUCKETS_SECONDS, plus one for +Inf. */
      bucketCounts: number[];
      sum: number;
      count: number;
    };

export const HISTOGRAM_BUCKETS_SECONDS: readonly number[] = [
  1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 21600,
];

export type ExpiryReason = 'queued_timeout' | 'running_timeout' | 'run_timeout';

/** Limits for stale entities and retention of completed ones (milliseconds). */
export interface LifecycleLimits {
  queuedJobMaxAgeMs: number;
  runningHostedJobMaxAgeMs: number;
  runningSelfHostedJobMaxAgeMs: number;
  runMaxAgeMs: number;
  completedRetentionMs: number;
  dedupeWindowMs: number;
}

export const DEFAULT_LIFECYCLE_LIMITS: LifecycleLimits = {
  queuedJobMaxAgeMs: 24 * 3_600_000,
  runningHostedJobMaxAgeMs: 6 * 3_600_000,
  runningSelfHostedJobMaxAgeMs: 5 * 86_400_000,
  runMaxAgeMs: 35 * 86_400_000,
  completedRetentionMs: 24 * 3_600_000,
  dedupeWindowMs: 4 * 86_400_000,
};
