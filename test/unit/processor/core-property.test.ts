// The core's central promise, drawn by fast-check from realistic lifecycles: runs with
// several attempts, jobs that go queued -> waiting? -> in_progress -> completed or are
// cancelled while queued, one-second timestamps with ties, payloads that omit
// run_attempt or created_at. Any permutation of their deliveries, with any duplicates
// (even past dedupe), yields the in-order final states, and the aggregates equal an
// independent model computed from the plan, not from the core.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta } from '../../../processor/core/aggregates.js';
import { applyJob, applyRun, jobKey, runKey } from '../../../processor/core/state-machine.js';
import type { AggregateDelta } from '../../../processor/core/types.js';
import { DEFAULT_CATALOGUE } from '../../../schemas/metrics.js';
import type { AggregateValue, JobState, JobStatus, RunState } from '../../../schemas/model.js';
import { parseDelivery } from '../../../schemas/observation.js';

const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

type JobPath = 'done' | 'cancelled_while_queued' | 'running' | 'queued';

interface JobPlan {
  path: JobPath;
  labels: string[];
  runnerGroup: string;
  conclusion: 'success' | 'failure' | 'cancelled';
  /** Seconds after the attempt started; 0 makes a one-second tie. */
  createdAfter: number;
  queueSeconds: number;
  runSeconds: number;
  /** Approval waits before a runner: 0, 1 or 2 `waiting` events (GitHub can send it twice). */
  waits: number;
  /** A queued action carrying status waiting. */
  queuedSaysWaiting: boolean;
  /** An in_progress action still carrying status queued. */
  lateQueuedStatus: boolean;
  /** The in_progress payload omits created_at (real payloads do). */
  startedOmitsCreatedAt: boolean;
  /** No payload carries created_at at all: the queue time is unknown. */
  createdAtUnknown: boolean;
}

interface AttemptPlan {
  path: 'done' | 'running' | 'requested';
  conclusion: 'success' | 'failure' | 'cancelled';
  startedAfter: number;
  runSeconds: number;
  waiting: boolean;
  jobs: JobPlan[];
}

interface RunPlan {
  repository: string;
  workflow: string | null;
  event: string;
  /** Attempt 1's payloads omit run_attempt (real ones do). */
  omitAttempt: boolean;
  attempts: AttemptPlan[];
}

interface Delivery {
  id: string;
  event: 'workflow_run' | 'workflow_job';
  payload: Record<string, unknown>;
}

const seconds = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 5, max: 30_000 }));

const jobPlan: fc.Arbitrary<JobPlan> = fc.record({
  path: fc.constantFrom<JobPath>('done', 'done', 'cancelled_while_queued', 'running', 'queued'),
  labels: fc.constantFrom(
    ['ubuntu-latest'],
    ['self-hosted', 'linux', 'x64'],
    ['x64', 'linux', 'self-hosted'],
  ),
  runnerGroup: fc.constantFrom('Default', 'GitHub Actions', 'gpu'),
  conclusion: fc.constantFrom('success', 'failure', 'cancelled'),
  createdAfter: seconds,
  queueSeconds: seconds,
  runSeconds: seconds,
  waits: fc.integer({ min: 0, max: 2 }),
  queuedSaysWaiting: fc.boolean(),
  lateQueuedStatus: fc.boolean(),
  startedOmitsCreatedAt: fc.boolean(),
  createdAtUnknown: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
});

const attemptPlan: fc.Arbitrary<AttemptPlan> = fc.record({
  path: fc.constantFrom<AttemptPlan['path']>('done', 'done', 'running', 'requested'),
  conclusion: fc.constantFrom('success', 'failure', 'cancelled'),
  startedAfter: seconds,
  runSeconds: seconds,
  waiting: fc.boolean(),
  jobs: fc.array(jobPlan, { maxLength: 3 }),
});

const runPlan: fc.Arbitrary<RunPlan> = fc.record({
  repository: fc.constantFrom('octo-org/api', 'octo-org/web'),
  workflow: fc.constantFrom('CI', 'Deploy', null),
  event: fc.constantFrom('push', 'pull_request'),
  omitAttempt: fc.boolean(),
  attempts: fc.array(attemptPlan, { minLength: 1, maxLength: 3 }),
});

const world = fc.array(runPlan, { minLength: 1, maxLength: 3 });

/** Plans with the ids and times each entity gets, shared by the deliveries and the model. */
interface PlacedJob extends JobPlan {
  jobId: number;
  createdAt: number;
  startedAt: number;
  completedAt: number;
}
interface PlacedAttempt extends AttemptPlan {
  attempt: number;
  runStartedAt: number;
  placedJobs: PlacedJob[];
}
interface PlacedRun extends RunPlan {
  runId: number;
  createdAt: number;
  placed: PlacedAttempt[];
}

function place(runs: RunPlan[]): PlacedRun[] {
  let jobId = 1000;
  return runs.map((run, r) => {
    const createdAt = T0 + r * 100_000_000;
    let clock = createdAt;
    const placed = run.attempts.map((a, i) => {
      // A re-run starts after the previous attempt: run_started_at resets, created_at not.
      const runStartedAt = clock + a.startedAfter * 1000;
      clock = runStartedAt + a.runSeconds * 1000 + 40_000_000;
      const placedJobs = a.jobs.map((j) => {
        const jobCreated = runStartedAt + j.createdAfter * 1000;
        const startedAt = jobCreated + j.queueSeconds * 1000;
        return {
          ...j,
          jobId: jobId++,
          createdAt: jobCreated,
          startedAt,
          completedAt: startedAt + j.runSeconds * 1000,
        };
      });
      return { ...a, attempt: i + 1, runStartedAt, placedJobs };
    });
    return { ...run, runId: 500 + r, createdAt, placed };
  });
}

function deliveries(runs: PlacedRun[]): Delivery[] {
  const out: Delivery[] = [];
  let n = 0;
  for (const run of runs) {
    const push = (event: Delivery['event'], payload: Record<string, unknown>) =>
      out.push({
        id: `00000000-0000-4000-8000-${String(n++).padStart(12, '0')}`,
        event,
        payload: { ...payload, repository: { full_name: run.repository } },
      });
    for (const a of run.placed) {
      const attempt = run.omitAttempt && a.attempt === 1 ? {} : { run_attempt: a.attempt };
      const runPayload = (status: string, updatedAt: number, conclusion: string | null) => ({
        action: status === 'completed' ? 'completed' : status === 'in_progress' ? 'in_progress' : 'requested',
        workflow_run: {
          id: run.runId,
          ...attempt,
          name: run.workflow,
          event: run.event,
          status,
          conclusion,
          created_at: iso(run.createdAt),
          run_started_at: iso(a.runStartedAt),
          updated_at: iso(updatedAt),
        },
      });
      push('workflow_run', runPayload('queued', a.runStartedAt, null));
      if (a.waiting) push('workflow_run', runPayload('waiting', a.runStartedAt, null));
      if (a.path !== 'requested') push('workflow_run', runPayload('in_progress', a.runStartedAt, null));
      if (a.path === 'done') {
        push('workflow_run', runPayload('completed', a.runStartedAt + a.runSeconds * 1000, a.conclusion));
      }
      for (const j of a.placedJobs) {
        const created = j.createdAtUnknown ? {} : { created_at: iso(j.createdAt) };
        const job = (action: string, status: string, fields: Record<string, unknown> = {}) => ({
          action,
          workflow_job: {
            id: j.jobId,
            run_id: run.runId,
            ...attempt,
            workflow_name: run.workflow,
            labels: j.labels,
            status,
            conclusion: null,
            ...created,
            // GitHub sets started_at while queued too (to the queue time).
            started_at: iso(j.createdAt),
            completed_at: null,
            runner_name: null,
            runner_group_name: null,
            ...fields,
          },
        });
        push('workflow_job', job('queued', j.queuedSaysWaiting ? 'waiting' : 'queued'));
        for (let w = 0; w < j.waits; w++) push('workflow_job', job('waiting', 'waiting'));
        const ran = j.path === 'done' || j.path === 'running';
        const runner = { runner_name: `runner-${j.jobId}`, runner_group_name: j.runnerGroup };
        if (ran && j.lateQueuedStatus) push('workflow_job', job('in_progress', 'queued'));
        if (ran) {
          const p = job('in_progress', 'in_progress', { started_at: iso(j.startedAt), ...runner });
          if (j.startedOmitsCreatedAt) delete (p.workflow_job as Record<string, unknown>).created_at;
          push('workflow_job', p);
        }
        if (j.path === 'done') {
          push(
            'workflow_job',
            job('completed', 'completed', {
              started_at: iso(j.startedAt),
              completed_at: iso(j.completedAt),
              conclusion: j.conclusion,
              ...runner,
            }),
          );
        }
        if (j.path === 'cancelled_while_queued') {
          push(
            'workflow_job',
            job('completed', 'completed', { completed_at: iso(j.completedAt), conclusion: 'cancelled' }),
          );
        }
      }
    }
  }
  return out;
}

interface Folded {
  runs: Map<string, RunState>;
  jobs: Map<string, JobState>;
  aggregates: Map<string, AggregateValue>;
}

/** The core applied in the given order, with NO dedupe: duplicates reach the state machines. */
function fold(stream: readonly Delivery[]): Folded {
  const folded: Folded = { runs: new Map(), jobs: new Map(), aggregates: new Map() };
  stream.forEach((d, i) => {
    const now = T0 + i * 1000; // processing time differs with the order; it must not matter
    const parsed = parseDelivery(d.event, d.payload);
    if (!parsed.ok) throw new Error(parsed.reason);
    const o = parsed.observation;
    let deltas: AggregateDelta[];
    if (o.kind === 'run') {
      const t = applyRun(folded.runs.get(runKey(o.runId, o.runAttempt)), o, now);
      folded.runs.set(runKey(o.runId, o.runAttempt), t.state);
      deltas = t.deltas;
    } else {
      const t = applyJob(folded.jobs.get(jobKey(o.jobId)), o, now);
      folded.jobs.set(jobKey(o.jobId), t.state);
      deltas = t.deltas;
    }
    addAll(folded.aggregates, deltas);
  });
  return folded;
}

function addAll(aggregates: Map<string, AggregateValue>, deltas: readonly AggregateDelta[]): void {
  for (const delta of deltas) {
    const key = DEFAULT_CATALOGUE.seriesKey(delta.name, delta.labels);
    aggregates.set(key, applyDelta(aggregates.get(key), delta, DEFAULT_CATALOGUE));
  }
}

/** The aggregates the plan implies, by docs/design.md's definitions, without the core. */
function model(runs: PlacedRun[]): Map<string, AggregateValue> {
  const deltas: AggregateDelta[] = [];
  for (const run of runs) {
    const workflow = run.workflow ?? '';
    for (const a of run.placed) {
      if (a.path === 'done') {
        const labels = { repository: run.repository, workflow, event: run.event, conclusion: a.conclusion };
        deltas.push({
          kind: 'counter',
          name: 'github_actions_workflow_runs_completed_total',
          labels,
          increment: 1,
        });
        deltas.push({
          kind: 'histogram',
          name: 'github_actions_workflow_run_duration_seconds',
          labels,
          observeSeconds: a.runSeconds,
        });
      }
      for (const j of a.placedJobs) {
        const labels = [...j.labels].sort().join(',');
        const ran = j.path === 'done' || j.path === 'running';
        if (ran && !j.createdAtUnknown) {
          deltas.push({
            kind: 'histogram',
            name: 'github_actions_job_queue_duration_seconds',
            labels: { repository: run.repository, runner_group: j.runnerGroup, labels },
            observeSeconds: j.queueSeconds,
          });
        }
        if (j.path === 'done' || j.path === 'cancelled_while_queued') {
          const conclusion = j.path === 'done' ? j.conclusion : 'cancelled';
          const runnerGroup = j.path === 'done' ? j.runnerGroup : '';
          deltas.push({
            kind: 'counter',
            name: 'github_actions_jobs_completed_total',
            labels: { repository: run.repository, workflow, runner_group: runnerGroup, labels, conclusion },
            increment: 1,
          });
        }
        if (j.path === 'done') {
          deltas.push({
            kind: 'histogram',
            name: 'github_actions_job_duration_seconds',
            labels: { repository: run.repository, workflow, conclusion: j.conclusion },
            observeSeconds: j.runSeconds,
          });
        }
      }
    }
  }
  const out = new Map<string, AggregateValue>();
  addAll(out, deltas);
  return out;
}

const expectedJobStatus = (j: JobPlan): JobStatus =>
  j.path === 'done' || j.path === 'cancelled_while_queued'
    ? 'completed'
    : j.path === 'running'
      ? 'in_progress'
      : j.waits > 0 || j.queuedSaysWaiting
        ? 'waiting'
        : 'queued';

/** States without the processing-time fields, which depend on when events were applied. */
function comparable(folded: Folded) {
  const strip = ({ firstSeenAt, completedSeenAt, expiredAt, ...rest }: RunState | JobState) => {
    const out: Record<string, unknown> = { ...rest };
    delete out.startedSeenAt;
    return out;
  };
  const sorted = <V>(m: Map<string, V>, f: (v: V) => unknown) =>
    Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, f(v)]));
  return {
    runs: sorted(folded.runs, strip),
    jobs: sorted(folded.jobs, strip),
    aggregates: sorted(folded.aggregates, (v) => v),
  };
}

/** A world, its in-order deliveries, and one permutation of them with duplicates mixed in. */
const scenario = world.chain((plans) => {
  const placed = place(plans);
  const inOrder = deliveries(placed);
  return fc.record({
    placed: fc.constant(placed),
    inOrder: fc.constant(inOrder),
    permuted: fc.shuffledSubarray(inOrder, { minLength: inOrder.length, maxLength: inOrder.length }),
    duplicates: fc.array(fc.tuple(fc.nat(inOrder.length - 1), fc.nat()), { maxLength: 12 }),
  });
});

describe('order independence of the core (generated lifecycles)', () => {
  it('any permutation with duplicates yields the in-order states and the modelled aggregates', () => {
    fc.assert(
      fc.property(scenario, ({ placed, inOrder, permuted, duplicates }) => {
        const stream = [...permuted];
        for (const [which, at] of duplicates) stream.splice(at % (stream.length + 1), 0, inOrder[which]!);

        const reference = fold(inOrder);
        const shuffled = fold(stream);
        expect(comparable(shuffled)).toEqual(comparable(reference));
        expect(Object.fromEntries(reference.aggregates)).toEqual(Object.fromEntries(model(placed)));

        for (const run of placed) {
          for (const a of run.placed) {
            const state = shuffled.runs.get(runKey(run.runId, a.attempt));
            expect(state?.status).toBe(
              a.path === 'done'
                ? 'completed'
                : a.path === 'running'
                  ? 'in_progress'
                  : a.waiting
                    ? 'waiting'
                    : 'queued',
            );
            for (const j of a.placedJobs) {
              const job = shuffled.jobs.get(jobKey(j.jobId));
              expect(job?.status).toBe(expectedJobStatus(j));
              expect(job?.runAttempt).toBe(a.attempt);
            }
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('counts each completed job and each completed run attempt exactly once', () => {
    fc.assert(
      fc.property(scenario, ({ placed, inOrder, permuted, duplicates }) => {
        // Every delivery twice more, anywhere: the counters must not move.
        const stream = [...permuted, ...inOrder, ...duplicates.map(([w]) => inOrder[w]!)];
        const { aggregates } = fold(stream);
        const total = (name: string) =>
          [...aggregates.values()]
            .filter((v) => v.name === name)
            .reduce(
              (sum, v) => sum + (v.kind === 'counter' ? v.value : v.kind === 'histogram' ? v.count : 0),
              0,
            );
        const attempts = placed.flatMap((r) => r.placed);
        const jobs = attempts.flatMap((a) => a.placedJobs);
        expect(total('github_actions_workflow_runs_completed_total')).toBe(
          attempts.filter((a) => a.path === 'done').length,
        );
        expect(total('github_actions_jobs_completed_total')).toBe(
          jobs.filter((j) => j.path === 'done' || j.path === 'cancelled_while_queued').length,
        );
        expect(total('github_actions_job_duration_seconds')).toBe(
          jobs.filter((j) => j.path === 'done').length,
        );
      }),
      { numRuns: 200 },
    );
  });
});
