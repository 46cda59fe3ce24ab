// Reduces a delivery's JSON payload to an Observation: the few fields runstream keeps,
// validated. Missing optional fields are tolerated (real payloads omit run_attempt or
// created_at); missing identity fields make the delivery invalid, never a crash.
//
// Part of the contract, below the roles, so that any role can make the same reduction.
import type { BranchKind, JobState, JobStatus, RunState, RunStatus } from './model.js';
import { isJsonObject, type Json, positiveInt } from './payload.js';

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

export type ParseResult = { ok: true; observation: Observation } | { ok: false; reason: string };

const RUN_STATUSES: ReadonlySet<string> = new Set<RunStatus>([
  'requested',
  'queued',
  'pending',
  'waiting',
  'in_progress',
  'completed',
]);
/**
 * Job statuses as GitHub sends them, to runstream's. GitHub's REST schema also lists
 * `pending` and `requested` for jobs: both are before a runner, so rank 0 (queued).
 */
const JOB_STATUSES: ReadonlyMap<string, JobStatus> = new Map<string, JobStatus>([
  ['requested', 'queued'],
  ['pending', 'queued'],
  ['queued', 'queued'],
  ['waiting', 'waiting'],
  ['in_progress', 'in_progress'],
  ['completed', 'completed'],
]);

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** ISO 8601 to epoch ms; null when absent or unparsable. */
export function timestamp(v: unknown): number | null {
  if (typeof v !== 'string' || v === '') return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

const fail = (reason: string): ParseResult => ({ ok: false, reason });

/** The head branch against the repository's default branch; '' when either is unknown. */
function branchKindOf(headBranch: unknown, payload: Json): BranchKind {
  const head = text(headBranch);
  const defaultBranch = isJsonObject(payload.repository) ? text(payload.repository.default_branch) : null;
  if (head === null || defaultBranch === null) return '';
  return head === defaultBranch ? 'default' : 'other';
}

function parseRun(payload: Json, repository: string): ParseResult {
  const run = payload.workflow_run;
  if (!isJsonObject(run)) return fail('workflow_run payload has no workflow_run object');
  const runId = positiveInt(run.id);
  if (runId === null) return fail('workflow_run.id is missing or not a positive integer');
  const status = run.status;
  if (typeof status !== 'string' || !RUN_STATUSES.has(status)) {
    return fail(`workflow_run.status ${JSON.stringify(status)} is not a known status`);
  }
  const observation: RunObservation = {
    kind: 'run',
    runId,
    runAttempt: positiveInt(run.run_attempt) ?? 1,
    repository,
    workflow: text(run.name) ?? '',
    event: text(run.event) ?? '',
    branchKind: branchKindOf(run.head_branch, payload),
    status: status as RunStatus,
    conclusion: text(run.conclusion),
    createdAt: timestamp(run.created_at),
    runStartedAt: timestamp(run.run_started_at),
    updatedAt: timestamp(run.updated_at),
  };
  return { ok: true, observation };
}

function parseJob(payload: Json, repository: string): ParseResult {
  const job = payload.workflow_job;
  if (!isJsonObject(job)) return fail('workflow_job payload has no workflow_job object');
  const jobId = positiveInt(job.id);
  const runId = positiveInt(job.run_id);
  if (jobId === null) return fail('workflow_job.id is missing or not a positive integer');
  if (runId === null) return fail('workflow_job.run_id is missing or not a positive integer');
  const status = typeof job.status === 'string' ? JOB_STATUSES.get(job.status) : undefined;
  if (status === undefined) {
    return fail(`workflow_job.status ${JSON.stringify(job.status)} is not a known status`);
  }
  const labels = Array.isArray(job.labels)
    ? job.labels.filter((l): l is string => typeof l === 'string')
    : [];
  const observation: JobObservation = {
    kind: 'job',
    jobId,
    runId,
    runAttempt: positiveInt(job.run_attempt) ?? 1,
    repository,
    workflow: text(job.workflow_name) ?? '',
    labels: [...labels].sort().join(','),
    runnerGroup: text(job.runner_group_name) ?? '',
    branchKind: branchKindOf(job.head_branch, payload),
    runnerName: text(job.runner_name),
    status,
    conclusion: text(job.conclusion),
    createdAt: timestamp(job.created_at),
    startedAt: timestamp(job.started_at),
    completedAt: timestamp(job.completed_at),
  };
  return { ok: true, observation };
}

export function parseDelivery(input: DeliveryInput): ParseResult {
  const payload = input.payload;
  if (!isJsonObject(payload)) return fail('payload is not a JSON object');
  // workflow_job has no repository of its own: the top-level one is the run's.
  const repository = isJsonObject(payload.repository) ? text(payload.repository.full_name) : null;
  if (repository === null) return fail('payload has no repository.full_name');
  if (input.event === 'workflow_run') return parseRun(payload, repository);
  if (input.event === 'workflow_job') return parseJob(payload, repository);
  return fail(`event ${input.event} is not handled`);
}

