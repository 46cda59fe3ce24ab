// The processor's own model: the changes its transitions make to aggregates and the
// lifecycle limits. What it reads from a delivery (observations) is the contract's
// reduction of a payload (schemas/observation.ts), shared with ingest, which embeds it;
// the state it keeps and shares (runs, jobs, aggregates) is the contract in
// schemas/model.ts.
import type { CounterName, HistogramName } from '../../schemas/metrics.js';
import type { Labels } from '../../schemas/model.js';

export type {
  JobObservation,
  Observation,
  RunObservation,
} from '../../schemas/observation.js';

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
