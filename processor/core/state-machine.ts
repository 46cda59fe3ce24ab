// The run and job state machines.
//
// Order independence by construction: an entity's state is the join (least upper
// bound) of its events in a semilattice, so any permutation of the same events, with
// any duplicates, yields the same state:
//   - status: the highest in a fixed total order (rank per docs/design.md; the three rank-0
//     run statuses are ordered requested < pending < queued so ties are deterministic);
//     completed is the top, hence terminal.
//   - every other field: null (or '') is the bottom and never overwrites; between two
//     values the greater wins. GitHub's values only move forward (null -> runner name,
//     queued started_at = created_at -> real start, updated_at grows), so "greater" is
//     also "later". (Precedence by the entity's current rank is NOT a join: a late
//     lower-rank event could still fill a field and the result depended on order.)
//
// Aggregates change only on an entity's first transition (idempotent by construction)
// and their labels and values must not depend on arrival order either:
//   - completion deltas read the completing event only. GitHub sends one completed
//     event per job / run attempt (redeliveries are identical), so whichever events
//     came before, the delta is the same. Reading the merged state instead would let
//     an earlier in_progress event lend a runner group the completed event lacks.
//   - the queue duration is observed once, when the merged state is first started and
//     knows both created_at and started_at, from the merged state (a payload may omit
//     created_at, which a later-arriving queued event then supplies).
import type { BranchKind, JobState, JobStatus, Labels, RunState, RunStatus } from '../../schemas/model.js';
import type { AggregateDelta, JobObservation, RunObservation } from './types.js';

export interface Transition<S> {
  state: S;
  /** False when the event taught nothing new (a stale or repeated event). */
  changed: boolean;
  deltas: AggregateDelta[];
}

/** Total order of run statuses: docs/design.md's ranks, with rank 0 broken deterministically. */
export const RUN_STATUS_ORDER: Readonly<Record<RunStatus, number>> = {
  requested: 0,
  pending: 1,
  queued: 2,
  waiting: 3,
  in_progress: 4,
  completed: 5,
};
export const JOB_STATUS_ORDER: Readonly<Record<JobStatus, number>> = {
  queued: 0,
  waiting: 1,
  in_progress: 2,
  completed: 3,
};

export const runKey = (runId: number, runAttempt: number): string => `${runId}:${runAttempt}`;
export const jobKey = (jobId: number): string => String(jobId);

/** Join of two nullable values: null is the bottom, otherwise the greater. */
function join<T extends string | number>(a: T | null, b: T | null): T | null {
  if (a === null || a === '') return b ?? a;
  if (b === null || b === '') return a;
  return b > a ? b : a;
}

/** Join of label text: '' (GitHub said nothing) is the bottom. */
const joinText = (a: string, b: string): string => (b > a ? b : a);

const seconds = (fromMs: number, toMs: number): number => Math.max(0, toMs - fromMs) / 1000;

const known = (v: string | null): v is string => v !== null && v !== '';

function sameFields<T extends object>(a: T, b: T): boolean {
  for (const key of Object.keys(a) as Array<keyof T>) if (a[key] !== b[key]) return false;
  return true;
}

function newRun(obs: RunObservation, now: number): RunState {
  return {
    runId: obs.runId,
    runAttempt: obs.runAttempt,
    repository: '',
    workflow: '',
    event: '',
    branchKind: '',
    overflow: false,
    status: obs.status,
    conclusion: null,
    createdAt: null,
    runStartedAt: null,
    updatedAt: null,
    firstSeenAt: now,
    completedSeenAt: null,
    expiredAt: null,
  };
}

/** The run attempt after one more event (pure: `existing` is not modified). */
export function applyRun(
  existing: RunState | undefined,
  obs: RunObservation,
  now: number,
): Transition<RunState> {
  const base = existing ?? newRun(obs, now);
  const state: RunState = {
    ...base,
    status: RUN_STATUS_ORDER[obs.status] > RUN_STATUS_ORDER[base.status] ? obs.status : base.status,
    repository: joinText(base.repository, obs.repository),
    workflow: joinText(base.workflow, obs.workflow),
    event: joinText(base.event, obs.event),
    branchKind: joinText(base.branchKind ?? '', obs.branchKind ?? '') as BranchKind,
    conclusion: join(base.conclusion, obs.conclusion),
    createdAt: join(base.createdAt, obs.createdAt),
    runStartedAt: join(base.runStartedAt, obs.runStartedAt),
    updatedAt: join(base.updatedAt, obs.updatedAt),
  };
  const deltas: AggregateDelta[] = [];
  // Only a completed event can make the status completed, so `obs` is that event.
  if (state.status === 'completed' && state.completedSeenAt === null && obs.status === 'completed') {
    state.completedSeenAt = now;
    const labels: Labels = {
      repository: obs.repository,
      workflow: obs.workflow,
      event: obs.event,
      conclusion: obs.conclusion ?? '',
      branch_kind: obs.branchKind ?? '',
    };
    deltas.push({
      kind: 'counter',
      name: 'github_actions_workflow_runs_completed_total',
      labels,
      increment: 1,
    });
    if (obs.runStartedAt !== null && obs.updatedAt !== null) {
      deltas.push({
        kind: 'histogram',
        name: 'github_actions_workflow_run_duration_seconds',
        labels,
        observeSeconds: seconds(obs.runStartedAt, obs.updatedAt),
      });
    }
  }
  return { state, changed: !existing || !sameFields(existing, state), deltas };
}

/**
 * A job has started once a runner took it: in progress, or completed with a runner
 * (a job cancelled or skipped while queued completes with no runner and never started).
 */
export function hasStarted(job: Pick<JobState, 'status' | 'runnerName'>): boolean {
  return job.status === 'in_progress' || (job.status === 'completed' && known(job.runnerName));
}

function newJob(obs: JobObservation, now: number): JobState {
  return {
    jobId: obs.jobId,
    runId: obs.runId,
    runAttempt: obs.runAttempt,
    repository: '',
    workflow: '',
    labels: '',
    runnerGroup: '',
    branchKind: '',
    overflow: false,
    runnerName: null,
    status: obs.status,
    conclusion: null,
    createdAt: null,
    startedAt: null,
    completedAt: null,
    firstSeenAt: now,
    startedSeenAt: null,
    completedSeenAt: null,
    expiredAt: null,
  };
}

/** The job after one more event (pure: `existing` is not modified). */
export function applyJob(
  existing: JobState | undefined,
  obs: JobObservation,
  now: number,
): Transition<JobState> {
  const base = existing ?? newJob(obs, now);
  const state: JobState = {
    ...base,
    status: JOB_STATUS_ORDER[obs.status] > JOB_STATUS_ORDER[base.status] ? obs.status : base.status,
    repository: joinText(base.repository, obs.repository),
    workflow: joinText(base.workflow, obs.workflow),
    labels: joinText(base.labels, obs.labels),
    runnerGroup: joinText(base.runnerGroup, obs.runnerGroup),
    branchKind: joinText(base.branchKind ?? '', obs.branchKind ?? '') as BranchKind,
    runnerName: join(base.runnerName, obs.runnerName),
    conclusion: join(base.conclusion, obs.conclusion),
    createdAt: join(base.createdAt, obs.createdAt),
    startedAt: join(base.startedAt, obs.startedAt),
    completedAt: join(base.completedAt, obs.completedAt),
  };
  const deltas: AggregateDelta[] = [];
  // Observed once both times are known, whichever event brings the last of them, so
  // an in_progress without created_at followed by a late queued still counts once.
  if (
    state.startedSeenAt === null &&
    hasStarted(state) &&
    state.createdAt !== null &&
    state.startedAt !== null
  ) {
    state.startedSeenAt = now;
    deltas.push({
      kind: 'histogram',
      name: 'github_actions_job_queue_duration_seconds',
      labels: {
        repository: state.repository,
        runner_group: state.runnerGroup,
        labels: state.labels,
        branch_kind: state.branchKind ?? '',
      },
      observeSeconds: seconds(state.createdAt, state.startedAt),
    });
  }
  // Only a completed event can make the status completed, so `obs` is that event.
  if (state.status === 'completed' && state.completedSeenAt === null && obs.status === 'completed') {
    state.completedSeenAt = now;
    const conclusion = obs.conclusion ?? '';
    deltas.push({
      kind: 'counter',
      name: 'github_actions_jobs_completed_total',
      labels: {
        repository: obs.repository,
        workflow: obs.workflow,
        runner_group: obs.runnerGroup,
        labels: obs.labels,
        conclusion,
        branch_kind: obs.branchKind ?? '',
      },
      increment: 1,
    });
    // A job no runner took ran for no time: its started_at is only its queue time.
    if (known(obs.runnerName) && obs.startedAt !== null && obs.completedAt !== null) {
      deltas.push({
        kind: 'histogram',
        name: 'github_actions_job_duration_seconds',
        labels: {
          repository: obs.repository,
          workflow: obs.workflow,
          conclusion,
          branch_kind: obs.branchKind ?? '',
        },
        observeSeconds: seconds(obs.startedAt, obs.completedAt),
      });
    }
  }
  return { state, changed: !existing || !sameFields(existing, state), deltas };
}
