// The run and job state machines. Merging is order-independent: the status only moves
// up its rank (completed is terminal), and each field takes the value of the
// highest-ranked event that carries one (null never overwrites; equal ranks keep the
// larger value), so any permutation of the same events yields the same state.
// Aggregates change only on an entity's first transition into started or completed.
import type {
  AggregateDelta,
  JobObservation,
  JobState,
  JobStatus,
  RunObservation,
  RunState,
  RunStatus,
} from './types.js';

export interface Transition<S> {
  state: S;
  /** False when the event taught nothing new (a stale or repeated event). */
  changed: boolean;
  deltas: AggregateDelta[];
}

const RUN_RANK: Record<RunStatus, number> = {
  requested: 0,
  pending: 0,
  queued: 0,
  waiting: 1,
  in_progress: 2,
  completed: 3,
};
/** Within rank 0 the later-sounding status wins, deterministically. */
const RUN_TIE: Record<RunStatus, number> = {
  requested: 0,
  pending: 1,
  queued: 2,
  waiting: 0,
  in_progress: 0,
  completed: 0,
};
const JOB_RANK: Record<JobStatus, number> = { queued: 0, waiting: 1, in_progress: 2, completed: 3 };

export const runKey = (runId: number, runAttempt: number): string => `${runId}:${runAttempt}`;
export const jobKey = (jobId: number): string => String(jobId);

/** The field value after merging an event of rank `incomingRank` into one of `existingRank`. */
function pick<T extends string | number>(
  existing: T | null,
  incoming: T | null,
  existingRank: number,
  incomingRank: number,
): T | null {
  if (incoming === null || incoming === '') return existing;
  if (existing === null || existing === '') return incoming;
  if (incomingRank !== existingRank) return incomingRank > existingRank ? incoming : existing;
  return incoming > existing ? incoming : existing;
}

const pickText = (existing: string, incoming: string, eRank: number, oRank: number): string =>
  pick<string>(existing, incoming, eRank, oRank) ?? '';

const seconds = (fromMs: number, toMs: number): number => Math.max(0, toMs - fromMs) / 1000;

function sameFields<T extends object>(a: T, b: T): boolean {
  for (const key of Object.keys(a) as Array<keyof T>) if (a[key] !== b[key]) return false;
  return true;
}

export function applyRun(
  existing: RunState | undefined,
  obs: RunObservation,
  now: number,
): Transition<RunState> {
  const eRank = existing ? RUN_RANK[existing.status] : -1;
  const oRank = RUN_RANK[obs.status];
  const base: RunState = existing ?? {
    runId: obs.runId,
    runAttempt: obs.runAttempt,
    repository: '',
    workflow: '',
    event: '',
    status: obs.status,
    conclusion: null,
    createdAt: null,
    runStartedAt: null,
    updatedAt: null,
    firstSeenAt: now,
    completedSeenAt: null,
    expiredAt: null,
  };
  const status: RunStatus = !existing
    ? obs.status
    : oRank > eRank || (oRank === eRank && RUN_TIE[obs.status] > RUN_TIE[existing.status])
      ? obs.status
      : existing.status;
  const state: RunState = {
    ...base,
    status,
    repository: pickText(base.repository, obs.repository, eRank, oRank),
    workflow: pickText(base.workflow, obs.workflow, eRank, oRank),
    event: pickText(base.event, obs.event, eRank, oRank),
    conclusion: pick(base.conclusion, obs.conclusion, eRank, oRank),
    createdAt: pick(base.createdAt, obs.createdAt, eRank, oRank),
    runStartedAt: pick(base.runStartedAt, obs.runStartedAt, eRank, oRank),
    updatedAt: pick(base.updatedAt, obs.updatedAt, eRank, oRank),
  };
  const deltas: AggregateDelta[] = [];
  if (state.status === 'completed' && state.completedSeenAt === null) {
    state.completedSeenAt = now;
    const labels = {
      repository: state.repository,
      workflow: state.workflow,
      event: state.event,
      conclusion: state.conclusion ?? '',
    };
    deltas.push({
      kind: 'counter',
      name: 'github_actions_workflow_runs_completed_total',
      labels,
      increment: 1,
    });
    if (state.runStartedAt !== null && state.updatedAt !== null) {
      deltas.push({
        kind: 'histogram',
        name: 'github_actions_workflow_run_duration_seconds',
        labels,
        observeSeconds: seconds(state.runStartedAt, state.updatedAt),
      });
    }
  }
  return { state, changed: !existing || !sameFields(existing, state), deltas };
}

/** A job has started once a runner took it: in progress, or completed with a runner. */
export function hasStarted(job: Pick<JobState, 'status' | 'runnerName'>): boolean {
  return job.status === 'in_progress' || (job.status === 'completed' && job.runnerName !== null);
}

export function applyJob(
  existing: JobState | undefined,
  obs: JobObservation,
  now: number,
): Transition<JobState> {
  const eRank = existing ? JOB_RANK[existing.status] : -1;
  const oRank = JOB_RANK[obs.status];
  const base: JobState = existing ?? {
    jobId: obs.jobId,
    runId: obs.runId,
    runAttempt: obs.runAttempt,
    repository: '',
    workflow: '',
    labels: '',
    runnerGroup: '',
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
  const state: JobState = {
    ...base,
    status: oRank > eRank ? obs.status : base.status,
    repository: pickText(base.repository, obs.repository, eRank, oRank),
    workflow: pickText(base.workflow, obs.workflow, eRank, oRank),
    labels: pickText(base.labels, obs.labels, eRank, oRank),
    runnerGroup: pickText(base.runnerGroup, obs.runnerGroup, eRank, oRank),
    runnerName: pick(base.runnerName, obs.runnerName, eRank, oRank),
    conclusion: pick(base.conclusion, obs.conclusion, eRank, oRank),
    createdAt: pick(base.createdAt, obs.createdAt, eRank, oRank),
    startedAt: pick(base.startedAt, obs.startedAt, eRank, oRank),
    completedAt: pick(base.completedAt, obs.completedAt, eRank, oRank),
  };
  const deltas: AggregateDelta[] = [];
  const started = hasStarted(state);
  // Observed once both times are known, whichever event brings the last of them, so
  // an in_progress without created_at followed by a late queued still counts once.
  if (started && state.startedSeenAt === null && state.createdAt !== null && state.startedAt !== null) {
    state.startedSeenAt = now;
    deltas.push({
      kind: 'histogram',
      name: 'github_actions_job_queue_duration_seconds',
      labels: { repository: state.repository, runner_group: state.runnerGroup, labels: state.labels },
      observeSeconds: seconds(state.createdAt, state.startedAt),
    });
  }
  if (state.status === 'completed' && state.completedSeenAt === null) {
    state.completedSeenAt = now;
    const conclusion = state.conclusion ?? '';
    deltas.push({
      kind: 'counter',
      name: 'github_actions_jobs_completed_total',
      labels: {
        repository: state.repository,
        workflow: state.workflow,
        runner_group: state.runnerGroup,
        labels: state.labels,
        conclusion,
      },
      increment: 1,
    });
    // A job no runner took (cancelled or skipped while queued) ran for no time.
    if (started && state.startedAt !== null && state.completedAt !== null) {
      deltas.push({
        kind: 'histogram',
        name: 'github_actions_job_duration_seconds',
        labels: { repository: state.repository, workflow: state.workflow, conclusion },
        observeSeconds: seconds(state.startedAt, state.completedAt),
      });
    }
  }
  return { state, changed: !existing || !sameFields(existing, state), deltas };
}
