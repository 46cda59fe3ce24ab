// The merge is a join: exact for ANY observations, not only consistent ones (payloads
// that disagree, e.g. a completed event without the runner group its in_progress had).
// The lifecycle property test covers realistic streams; these cover the anomalies.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJob, applyRun } from '../../../processor/core/state-machine.js';
import type { AggregateDelta, JobObservation, RunObservation } from '../../../processor/core/types.js';
import type { JobState, RunState } from '../../../schemas/model.js';
import { parseDelivery } from '../../../schemas/observation.js';
import { runIdOf } from '../../../schemas/payload.js';
import { jobObservation as fixtureJob } from '../../support/entities.js';
import { example } from '../../support/webhooks.js';

const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const time = nullable(fc.integer({ min: 0, max: 5 }).map((s) => 1_000_000 + s * 1000));

/** Observations of one job whose fields vary freely between events. */
const jobObservation: fc.Arbitrary<JobObservation> = fc.record({
  kind: fc.constant('job' as const),
  jobId: fc.constant(1),
  runId: fc.constant(10),
  runAttempt: fc.constant(1),
  name: fc.constant('build'),
  repository: fc.constant('o/r'),
  workflow: fc.constantFrom('', 'CI', 'Lint'),
  labels: fc.constantFrom('', 'ubuntu-latest', 'linux,self-hosted'),
  runnerGroup: fc.constantFrom('', 'Default', 'gpu'),
  runnerName: nullable(fc.constantFrom('r1', 'r2')),
  status: fc.constantFrom('queued', 'waiting', 'in_progress', 'completed'),
  conclusion: nullable(fc.constantFrom('success', 'failure')),
  createdAt: time,
  startedAt: time,
  completedAt: time,
});

const runObservation: fc.Arbitrary<RunObservation> = fc.record({
  kind: fc.constant('run' as const),
  runId: fc.constant(10),
  runAttempt: fc.constant(1),
  repository: fc.constant('o/r'),
  workflow: fc.constantFrom('', 'CI'),
  event: fc.constantFrom('', 'push', 'schedule'),
  status: fc.constantFrom('requested', 'pending', 'queued', 'waiting', 'in_progress', 'completed'),
  conclusion: nullable(fc.constantFrom('success', 'failure')),
  createdAt: time,
  runStartedAt: time,
  updatedAt: time,
});

function foldJobs(observations: readonly JobObservation[]) {
  let state: JobState | undefined;
  const deltas: AggregateDelta[] = [];
  observations.forEach((o, i) => {
    const t = applyJob(state, o, i);
    state = t.state;
    deltas.push(...t.deltas);
  });
  return { state: state!, deltas };
}

function foldRuns(observations: readonly RunObservation[]) {
  let state: RunState | undefined;
  const deltas: AggregateDelta[] = [];
  observations.forEach((o, i) => {
    const t = applyRun(state, o, i);
    state = t.state;
    deltas.push(...t.deltas);
  });
  return { state: state!, deltas };
}

const withoutTimes = ({ firstSeenAt, completedSeenAt, expiredAt, ...rest }: RunState | JobState) => {
  const out: Record<string, unknown> = { ...rest };
  delete out.startedSeenAt;
  return out;
};

/** A list, one permutation of it with duplicates, as fast-check values. */
function permutations<T>(item: fc.Arbitrary<T>) {
  return fc.array(item, { minLength: 1, maxLength: 8 }).chain((list) =>
    fc.record({
      list: fc.constant(list),
      other: fc
        .tuple(
          fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
          fc.array(fc.nat(list.length - 1), { maxLength: 4 }),
        )
        .map(([shuffled, dups]) => [...shuffled, ...dups.map((d) => list[d]!)]),
    }),
  );
}

/** Completion deltas, which read only the completed event. */
const completionDeltas = (deltas: readonly AggregateDelta[]) =>
  deltas.filter((d) => d.name !== 'github_actions_job_queue_duration_seconds');

describe('the merge is a join', () => {
  it('any permutation of arbitrary job observations, with duplicates, gives the same state', () => {
    fc.assert(
      fc.property(permutations(jobObservation), ({ list, other }) => {
        expect(withoutTimes(foldJobs(other).state)).toEqual(withoutTimes(foldJobs(list).state));
      }),
      { numRuns: 1000 },
    );
  });

  it('any permutation of arbitrary run observations, with duplicates, gives the same state', () => {
    fc.assert(
      fc.property(permutations(runObservation), ({ list, other }) => {
        expect(withoutTimes(foldRuns(other).state)).toEqual(withoutTimes(foldRuns(list).state));
      }),
      { numRuns: 1000 },
    );
  });

  it('completion deltas do not depend on order when the entity has one completed event', () => {
    const oneCompleted = <T extends { status: string }>(arb: fc.Arbitrary<T>, completed: fc.Arbitrary<T>) =>
      fc
        .tuple(
          fc.array(
            arb.filter((o) => o.status !== 'completed'),
            { maxLength: 6 },
          ),
          completed,
        )
        .map(([others, done]) => [...others, done]);
    const jobs = oneCompleted(
      jobObservation,
      jobObservation.map((o) => ({ ...o, status: 'completed' as const })),
    ).chain((list) =>
      fc.record({
        list: fc.constant(list),
        other: fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
      }),
    );
    fc.assert(
      fc.property(jobs, ({ list, other }) => {
        expect(completionDeltas(foldJobs(other).deltas)).toEqual(completionDeltas(foldJobs(list).deltas));
      }),
      { numRuns: 1000 },
    );
    const runs = oneCompleted(
      runObservation,
      runObservation.map((o) => ({ ...o, status: 'completed' as const })),
    ).chain((list) =>
      fc.record({
        list: fc.constant(list),
        other: fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }),
      }),
    );
    fc.assert(
      fc.property(runs, ({ list, other }) => {
        expect(foldRuns(other).deltas).toEqual(foldRuns(list).deltas);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('anomalies, one at a time', () => {
  const job = (o: Partial<JobObservation>): JobObservation => fixtureJob({ labels: 'x', createdAt: 0, ...o });
  const done = job({
    status: 'completed',
    conclusion: 'success',
    runnerName: 'r',
    startedAt: 10_000,
    completedAt: 20_000,
  });
  const runningA = job({ status: 'in_progress', runnerGroup: 'A', runnerName: 'r', startedAt: 10_000 });
  const runningB = job({ status: 'in_progress', runnerGroup: 'B', runnerName: 'r', startedAt: 10_000 });

  it('a completed event without a runner group counts under its own labels, whatever came first', () => {
    const group = (events: JobObservation[]) =>
      foldJobs(events).deltas.find((d) => d.name === 'github_actions_jobs_completed_total')?.labels
        .runner_group;
    expect(group([done, runningA])).toBe('');
    expect(group([runningA, done])).toBe('');
    // The state still learns the group from the in_progress event.
    expect(foldJobs([done, runningA]).state.runnerGroup).toBe('A');
  });

  it('two in_progress events that disagree settle on the same value in any order', () => {
    expect(foldJobs([done, runningA, runningB]).state.runnerGroup).toBe('B');
    expect(foldJobs([runningB, done, runningA]).state.runnerGroup).toBe('B');
    expect(foldJobs([runningA, runningB, done]).state.runnerGroup).toBe('B');
  });

  it('a queued event (started_at = queue time) never moves the real start back', () => {
    const queued = job({ startedAt: 0 });
    const a = foldJobs([queued, runningA]);
    const b = foldJobs([runningA, queued]);
    expect(a.state.startedAt).toBe(10_000);
    expect(b.state.startedAt).toBe(10_000);
    expect(a.deltas).toEqual(b.deltas);
  });
});

describe('parse details', () => {
  it('runIdOf: workflow_run.id or workflow_job.run_id, nothing else', () => {
    expect(runIdOf('workflow_run', example('workflow_run', 'completed'))).toBe(
      (example('workflow_run', 'completed').workflow_run as { id: number }).id,
    );
    expect(runIdOf('workflow_job', example('workflow_job', 'queued'))).toBe(
      (example('workflow_job', 'queued').workflow_job as { run_id: number }).run_id,
    );
    // There is no run_id inside workflow_run.
    expect(runIdOf('workflow_run', { workflow_run: { run_id: 5 } })).toBeNull();
    expect(runIdOf('workflow_job', { workflow_job: { run_id: '7' } })).toBeNull();
    expect(runIdOf('workflow_job', { workflow_job: { run_id: -1 } })).toBeNull();
    expect(runIdOf('push', { workflow_run: { id: 5 } })).toBeNull();
    expect(runIdOf('workflow_run', null)).toBeNull();
    expect(runIdOf('workflow_run', [])).toBeNull();
  });

  it('reads a real completed workflow_run: run id, attempt, name, event, times', () => {
    const payload = example('workflow_run', 'completed');
    const run = payload.workflow_run as Record<string, string | number>;
    const parsed = parseDelivery('workflow_run', payload);
    expect(parsed).toEqual({
      ok: true,
      observation: {
        kind: 'run',
        runId: run.id,
        runAttempt: run.run_attempt ?? 1,
        repository: (payload.repository as { full_name: string }).full_name,
        workflow: run.name ?? '',
        event: run.event,
        branchKind:
          run.head_branch === (payload.repository as { default_branch: string }).default_branch
            ? 'default'
            : 'other',
        status: run.status,
        conclusion: run.conclusion ?? null,
        createdAt: Date.parse(run.created_at as string),
        runStartedAt: Date.parse(run.run_started_at as string),
        updatedAt: Date.parse(run.updated_at as string),
      },
    });
  });

  it('reads a real in_progress workflow_job that has no run_attempt and no created_at', () => {
    const payload = example('workflow_job', 'in_progress');
    const job = payload.workflow_job as Record<string, unknown>;
    expect(job.run_attempt).toBeUndefined();
    expect(job.created_at).toBeUndefined();
    const parsed = parseDelivery('workflow_job', payload);
    expect(parsed).toMatchObject({
      ok: true,
      observation: {
        kind: 'job',
        jobId: job.id,
        runAttempt: 1,
        createdAt: null,
        startedAt: Date.parse(job.started_at as string),
        labels: [...(job.labels as string[])].sort().join(','),
        runnerGroup: job.runner_group_name,
        runnerName: job.runner_name,
        status: 'in_progress',
      },
    });
  });

  it('a null workflow name or runner group is the empty string; unparsable times are unknown', () => {
    const payload = example('workflow_job', 'waiting');
    const job = payload.workflow_job as Record<string, unknown>;
    job.workflow_name = null;
    job.started_at = 'not a date';
    const parsed = parseDelivery('workflow_job', payload);
    expect(parsed).toMatchObject({
      ok: true,
      observation: { workflow: '', runnerGroup: '', runnerName: null, startedAt: null, status: 'waiting' },
    });
  });

  it("maps GitHub's pending and requested job statuses to queued; refuses unknown ones", () => {
    for (const status of ['pending', 'requested']) {
      const payload = example('workflow_job', 'queued');
      (payload.workflow_job as Record<string, unknown>).status = status;
      const parsed = parseDelivery('workflow_job', payload);
      expect(parsed).toMatchObject({ ok: true, observation: { status: 'queued' } });
    }
    const payload = example('workflow_job', 'queued');
    (payload.workflow_job as Record<string, unknown>).status = 'exploded';
    expect(parseDelivery('workflow_job', payload)).toEqual({
      ok: false,
      reason: 'workflow_job.status "exploded" is not a known status',
    });
  });

  it('refuses other events, non-objects and payloads without a repository', () => {
    const reason = (event: string, payload: unknown) => {
      const r = parseDelivery(event, payload);
      return r.ok ? 'ok' : r.reason;
    };
    expect(reason('push', example('workflow_run', 'completed'))).toBe('event push is not handled');
    expect(reason('workflow_run', 'text')).toBe('payload is not a JSON object');
    const noRepo = example('workflow_job', 'queued');
    delete noRepo.repository;
    expect(reason('workflow_job', noRepo)).toBe('payload has no repository.full_name');
    const noId = example('workflow_run', 'completed');
    delete (noId.workflow_run as Record<string, unknown>).id;
    expect(reason('workflow_run', noId)).toBe('workflow_run.id is missing or not a positive integer');
  });
});
