// Reduces a delivery's JSON payload to an Observation: the few fields runstream keeps,
// validated. Missing optional fields are tolerated (real payloads omit run_attempt or
// created_at); missing identity fields make the delivery invalid, never a crash.
//
// Part of the contract because two roles need the same reduction: ingest embeds it in
// the Delivery envelope (delivery.ts) when it builds one, and the processor uses that
// embedded observation when it was made by this version of the parser, or parses the
// body itself otherwise. Either way the processor sees the same observation.
import avro from 'avsc';
import type { BranchKind, JobState, JobStatus, RunState, RunStatus } from './model.js';
import { isJsonObject, type Json, positiveInt } from './payload.js';
import { jobStateSchemaV2, runStateSchemaV2 } from './state.js';

/** One workflow_run event reduced to the fields runstream keeps: a run state without
 * the processing times. */
export type RunObservation = { kind: 'run' } & Omit<
  RunState,
  'firstSeenAt' | 'completedSeenAt' | 'expiredAt' | 'overflow'
>;

/** One workflow_job event reduced to the fields runstream keeps: a job state without
 * the processing times, and the job's name (since OBSERVATION_VERSION 2: what ties a
 * job's attempts together, processor/core/reruns.ts; '' when absent). */
export type JobObservation = { kind: 'job'; name: string } & Omit<
  JobState,
  'firstSeenAt' | 'startedSeenAt' | 'completedSeenAt' | 'expiredAt' | 'overflow'
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

/** Run and job states keep the attempt as an Avro int. */
const MAX_ATTEMPT = 2 ** 31 - 1;

/** The run attempt (1 when absent, as GitHub omits it on first attempts), or why it is unusable. */
function attemptOf(v: unknown, field: string): number | { reason: string } {
  const attempt = positiveInt(v) ?? 1;
  return attempt > MAX_ATTEMPT ? { reason: `${field} ${attempt} is out of range` } : attempt;
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
  const runAttempt = attemptOf(run.run_attempt, 'workflow_run.run_attempt');
  if (typeof runAttempt !== 'number') return fail(runAttempt.reason);
  const observation: RunObservation = {
    kind: 'run',
    runId,
    runAttempt,
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
  const runAttempt = attemptOf(job.run_attempt, 'workflow_job.run_attempt');
  if (typeof runAttempt !== 'number') return fail(runAttempt.reason);
  const labels = Array.isArray(job.labels)
    ? job.labels.filter((l): l is string => typeof l === 'string')
    : [];
  const observation: JobObservation = {
    kind: 'job',
    jobId,
    runId,
    runAttempt,
    name: text(job.name) ?? '',
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

/** What a delivery of this event (X-GitHub-Event) and parsed body says, or why it says nothing usable. */
export function parseDelivery(event: string, payload: unknown): ParseResult {
  if (!isJsonObject(payload)) return fail('payload is not a JSON object');
  // workflow_job has no repository of its own: the top-level one is the run's.
  const repository = isJsonObject(payload.repository) ? text(payload.repository.full_name) : null;
  if (repository === null) return fail('payload has no repository.full_name');
  if (event === 'workflow_run') return parseRun(payload, repository);
  if (event === 'workflow_job') return parseJob(payload, repository);
  return fail(`event ${event} is not handled`);
}

/**
 * The version of the reduction above. Bump it whenever parseDelivery (or anything it
 * reads) changes what it makes of a payload: observations embedded by an older ingest
 * then no longer match, and a processor of the new version parses their bodies instead.
 * test/unit/schemas/observation.test.ts keeps what it makes of the real examples per
 * version, and fails when that moves under the same version.
 */
export const OBSERVATION_VERSION = 2;

/** Fields of a state the processor sets itself, never read from a payload. */
const PROCESSING_TIMES: ReadonlySet<string> = new Set([
  'firstSeenAt',
  'startedSeenAt',
  'completedSeenAt',
  'expiredAt',
]);

/** Like the observation types: the fields of a state without the processing times. */
const observationFields = <F extends { name: string }>(fields: readonly F[]): F[] =>
  fields.filter((field) => !PROCESSING_TIMES.has(field.name));

/**
 * The observation as the Delivery envelope carries it (Avro, in deliverySchemaV2):
 * the parser's version and the run or the job observed, without its kind (the event
 * says which).
 */
export const embeddedObservationSchema = {
  type: 'record',
  name: 'EmbeddedObservation',
  namespace: 'dev.runstream',
  doc: 'What parseDelivery made of the body when the delivery was built',
  fields: [
    { name: 'version', type: 'int', doc: 'OBSERVATION_VERSION of the parser that made it' },
    {
      name: 'run',
      type: [
        'null',
        { type: 'record', name: 'RunObservation', fields: observationFields(runStateSchemaV2.fields) },
      ],
      default: null,
    },
    {
      name: 'job',
      type: [
        'null',
        { type: 'record', name: 'JobObservation', fields: observationFields(jobStateSchemaV2.fields) },
      ],
      default: null,
    },
  ],
} as const;

/** V2 adds the job's name (OBSERVATION_VERSION 2), carried by deliverySchemaV3. */
export const embeddedObservationSchemaV2 = {
  ...embeddedObservationSchema,
  fields: [
    embeddedObservationSchema.fields[0],
    embeddedObservationSchema.fields[1],
    {
      name: 'job',
      type: [
        'null',
        {
          type: 'record',
          name: 'JobObservation',
          fields: [
            ...observationFields(jobStateSchemaV2.fields),
            { name: 'name', type: 'string', default: '' },
          ],
        },
      ],
      default: null,
    },
  ],
} as const;

export interface EmbeddedObservation {
  version: number;
  run: Omit<RunObservation, 'kind'> | null;
  job: Omit<JobObservation, 'kind'> | null;
}

const embeddedType = avro.Type.forSchema(embeddedObservationSchemaV2 as unknown as avro.Schema, {
  wrapUnions: false,
});

/** A lone surrogate: valid in a JS string (and in JSON), not in Avro's UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The observation to embed in a Delivery of this event and payload, or null when the
 * payload does not reduce to one (the processor then parses the body and finds the same
 * reason) or when Avro could not carry it exactly (a lone surrogate in a string), so
 * that it is embedded only when it reads back equal.
 */
export function embedObservation(event: string, payload: unknown): EmbeddedObservation | null {
  const parsed = parseDelivery(event, payload);
  if (!parsed.ok) return null;
  const { kind, ...fields } = parsed.observation;
  if (Object.values(fields).some((v) => typeof v === 'string' && LONE_SURROGATE.test(v))) return null;
  const embedded: EmbeddedObservation =
    kind === 'run'
      ? { version: OBSERVATION_VERSION, run: fields as Omit<RunObservation, 'kind'>, job: null }
      : { version: OBSERVATION_VERSION, run: null, job: fields as Omit<JobObservation, 'kind'> };
  return embeddedType.isValid(embedded) ? embedded : null;
}

/**
 * The observation a delivery carries, when this parser version made it and it is of
 * the delivery's event; null means: parse the body.
 */
export function embeddedObservationOf(
  event: string,
  embedded: EmbeddedObservation | null,
): Observation | null {
  if (embedded === null || embedded.version !== OBSERVATION_VERSION) return null;
  if (event === 'workflow_run' && embedded.run) return { kind: 'run', ...embedded.run };
  if (event === 'workflow_job' && embedded.job) return { kind: 'job', ...embedded.job };
  return null;
}
