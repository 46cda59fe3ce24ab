// The processor's own model: what it reads from a delivery (observations), the
// changes its transitions make to aggregates, and the lifecycle limits. The state it
// keeps and shares (runs, jobs, aggregates) is the contract in schemas/model.ts.
import type { CounterName, HistogramName } from '../../schemas/metrics.js';
import type { JobStatus, Labels, RunStatus } from '../../schemas/model.js';

/** What the processor reads from a Delivery before any state is touched. */
export interface DeliveryInput {
  deliveryId: string;
  event: string;
  /** Parsed JSON body. */
  payload: unknown;
  receivedAt: number;
}

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

/** One change to one aggregate series caused by a first transition. */
export type AggregateDelta =
  | { kind: 'counter'; name: CounterName; labels: Labels; increment: number }
  | { kind: 'histogram'; name: HistogramName; labels: Labels; observeSeconds: number };

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
