// The processor's own model: what it reads from a delivery (observations), the
// changes its transitions make to aggregates, and the lifecycle limits. The state it
// keeps and shares (runs, jobs, aggregates) is the contract in schemas/model.ts.
import type { CounterName, HistogramName } from '../../schemas/metrics.js';
import type { JobState, Labels, RunState } from '../../schemas/model.js';

/** What the processor reads from a Delivery before any state is touched. */
export interface DeliveryInput {
  deliveryId: string;
  event: string;
  /** Parsed JSON body. */
  payload: unknown;
  receivedAt: number;
}

/** One workflow_run event reduced to the fields runstream keeps: a run state without
 * the processing times. */
export type RunObservation = { kind: 'run' } & Omit<
  RunState,
  'firstSeenAt' | 'completedSeenAt' | 'expiredAt'
>;

/** One workflow_job event reduced to the fields runstream keeps: a job state without
 * the processing times. */
export type JobObservation = { kind: 'job' } & Omit<
  JobState,
  'firstSeenAt' | 'startedSeenAt' | 'completedSeenAt' | 'expiredAt'
>;

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
