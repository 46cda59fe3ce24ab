// The incremental GaugeIndex against a from-scratch computation (written here, from
// the metric definitions) on random views: runs and jobs inserted, moved between
// statuses and label sets, expired, completed and removed in any order; and an
// emptied label set kept at 0 for the retention window.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTIVE_JOB_STATUSES,
  GaugeIndex,
  type GaugeSample,
  type GaugeSnapshot,
} from '../../../exporter/gauges.js';
import type { JobState, JobStatus, Labels, RunState, RunStatus } from '../../../schemas/model.js';
import { jobState } from '../../support/entities.js';

const isActive = (e: { status: string; expiredAt: number | null }) =>
  e.status !== 'completed' && e.expiredAt === null;
const keyOf = (labels: Labels) => JSON.stringify(Object.values(labels));

function bump(samples: Map<string, GaugeSample>, labels: Labels): void {
  const key = keyOf(labels);
  const sample = samples.get(key);
  if (sample) sample.value += 1;
  else samples.set(key, { labels, value: 1 });
}

/**
 * The gauges computed from scratch over a whole view: the active counts, and the
 * oldest queued job per (runner_group, labels) of sets with an active job (0 when none
 * is queued). Zero series kept for the retention window are history, which a view
 * does not hold; GaugeIndex adds them.
 */
function computeGauges(runs: Iterable<RunState>, jobs: Iterable<JobState>): GaugeSnapshot {
  const runCounts = new Map<string, GaugeSample>();
  for (const run of runs) {
    if (!isActive(run)) continue;
    bump(runCounts, {
      repository: run.repository,
      workflow: run.workflow,
      event: run.event,
      status: run.status,
    });
  }
  const jobCounts = new Map<string, GaugeSample>();
  const oldest = new Map<string, { labels: Labels; min: number | undefined }>();
  for (const job of jobs) {
    if (!isActive(job)) continue;
    bump(jobCounts, {
      repository: job.repository,
      workflow: job.workflow,
      runner_group: job.runnerGroup,
      labels: job.labels,
      status: job.status,
    });
    const labels = { runner_group: job.runnerGroup, labels: job.labels };
    const entry = oldest.get(keyOf(labels)) ?? { labels, min: undefined };
    oldest.set(keyOf(labels), entry);
    // Waiting jobs are excluded: they wait for an approval, not for a runner.
    if (job.status === 'queued' && job.createdAt !== null) {
      const at = Math.floor(job.createdAt / 1000);
      entry.min = entry.min === undefined ? at : Math.min(entry.min, at);
    }
  }
  return {
    runs: [...runCounts.values()],
    jobs: [...jobCounts.values()],
    oldestQueued: [...oldest.values()].map((e) => ({ labels: e.labels, value: e.min ?? 0 })),
  };
}

const runArb = fc.record({
  key: fc.integer({ min: 1, max: 10 }),
  repository: fc.constantFrom('o/a', 'o/b'),
  workflow: fc.constantFrom('', 'CI'),
  event: fc.constantFrom('push', 'schedule'),
  status: fc.constantFrom<RunStatus>('requested', 'pending', 'queued', 'waiting', 'in_progress', 'completed'),
  expired: fc.boolean(),
  remove: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});

const jobArb = fc.record({
  key: fc.integer({ min: 1, max: 15 }),
  repository: fc.constantFrom('o/a', 'o/b'),
  workflow: fc.constantFrom('', 'CI'),
  runnerGroup: fc.constantFrom('', 'Default'),
  labels: fc.constantFrom('ubuntu-latest', 'linux,self-hosted'),
  status: fc.constantFrom<JobStatus>('queued', 'waiting', 'in_progress', 'completed'),
  createdAt: fc.option(fc.integer({ min: 0, max: 50 }), { nil: null }),
  expired: fc.boolean(),
  remove: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
});

type RunOp = typeof runArb extends fc.Arbitrary<infer T> ? T : never;
type JobOp = typeof jobArb extends fc.Arbitrary<infer T> ? T : never;

const toRun = (r: RunOp): RunState => ({
  runId: r.key,
  runAttempt: 1,
  repository: r.repository,
  workflow: r.workflow,
  event: r.event,
  status: r.status,
  conclusion: null,
  createdAt: null,
  runStartedAt: null,
  updatedAt: null,
  firstSeenAt: 0,
  completedSeenAt: r.status === 'completed' ? 0 : null,
  expiredAt: r.expired ? 0 : null,
});

const toJob = (j: JobOp): JobState => ({
  jobId: j.key,
  runId: 1,
  runAttempt: 1,
  repository: j.repository,
  workflow: j.workflow,
  labels: j.labels,
  runnerGroup: j.runnerGroup,
  runnerName: null,
  status: j.status,
  conclusion: null,
  // Sub-second parts must be floored to Unix seconds.
  createdAt: j.createdAt === null ? null : j.createdAt * 1000 + 999,
  startedAt: null,
  completedAt: null,
  firstSeenAt: 0,
  startedSeenAt: null,
  completedSeenAt: null,
  expiredAt: j.expired ? 0 : null,
});

const byLabels = (samples: readonly GaugeSample[]) =>
  new Map(samples.map((s) => [JSON.stringify(Object.entries(s.labels).sort()), s.value]));
const nonZero = (samples: readonly GaugeSample[]) => byLabels(samples.filter((s) => s.value !== 0));

describe('GaugeIndex = computeGauges', () => {
  it('serves the from-scratch values after any sequence of changes; every other series is 0', () => {
    const op = fc.oneof(
      runArb.map((r) => ({ kind: 'run' as const, r })),
      jobArb.map((j) => ({ kind: 'job' as const, j })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const index = new GaugeIndex(60_000, () => 0);
        const runs = new Map<number, RunState>();
        const jobs = new Map<number, JobState>();
        for (const o of ops) {
          if (o.kind === 'run') {
            const previous = runs.get(o.r.key);
            if (o.r.remove) {
              if (previous) index.removeRun(previous);
              runs.delete(o.r.key);
            } else {
              const next = toRun(o.r);
              index.upsertRun(previous, next);
              runs.set(o.r.key, next);
            }
          } else {
            const previous = jobs.get(o.j.key);
            if (o.j.remove) {
              if (previous) index.removeJob(previous);
              jobs.delete(o.j.key);
            } else {
              const next = toJob(o.j);
              index.upsertJob(previous, next);
              jobs.set(o.j.key, next);
            }
          }
        }
        const served = index.snapshot();
        const expected = computeGauges(runs.values(), jobs.values());
        expect(nonZero(served.runs)).toEqual(byLabels(expected.runs));
        expect(nonZero(served.jobs)).toEqual(byLabels(expected.jobs));
        // Oldest queued: every set with an active job, at the same value; others at 0.
        const oldest = byLabels(served.oldestQueued);
        for (const [key, value] of byLabels(expected.oldestQueued)) expect(oldest.get(key)).toBe(value);
        expect(nonZero(served.oldestQueued)).toEqual(nonZero(expected.oldestQueued));
        for (const s of expected.oldestQueued) expect(s.value % 1).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it('excludes waiting jobs from the oldest queued timestamp, and expired entities from every gauge', () => {
    const base: JobState = {
      ...toJob({
        key: 1,
        repository: 'o/a',
        workflow: 'CI',
        runnerGroup: '',
        labels: 'ubuntu-latest',
        status: 'queued',
        createdAt: 100,
        expired: false,
        remove: false,
      }),
      labels: 'x',
    };
    const jobs = [
      base,
      { ...base, jobId: 2, status: 'waiting' as const, createdAt: 5_000 },
      { ...base, jobId: 3, createdAt: 7_000, expiredAt: 1 },
      { ...base, jobId: 4, createdAt: 300_000 },
    ];
    const g = computeGauges([], jobs);
    expect(g.oldestQueued).toEqual([{ labels: { runner_group: '', labels: 'x' }, value: 100 }]);
    expect(byLabels(g.jobs)).toEqual(
      byLabels([
        {
          labels: { repository: 'o/a', workflow: 'CI', runner_group: '', labels: 'x', status: 'queued' },
          value: 2,
        },
        {
          labels: { repository: 'o/a', workflow: 'CI', runner_group: '', labels: 'x', status: 'waiting' },
          value: 1,
        },
      ]),
    );
  });
});

describe('GaugeIndex', () => {
  /** An independent count: active (not completed, not expired) jobs per label set and status. */
  function fromScratch(jobs: Iterable<JobState>): Map<string, number> {
    const out = new Map<string, number>();
    for (const j of jobs) {
      if (j.status === 'completed' || j.expiredAt !== null) continue;
      const key = JSON.stringify([j.repository, j.workflow, j.runnerGroup, j.labels, j.status]);
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    return out;
  }

  it('matches a from-scratch count after any sequence of upserts and removals', () => {
    const statusArb = fc.constantFrom('queued', 'waiting', 'in_progress', 'completed') as fc.Arbitrary<
      JobState['status']
    >;
    const jobArb = fc.record({
      jobId: fc.integer({ min: 1, max: 12 }),
      labels: fc.constantFrom('a', 'b'),
      runnerGroup: fc.constantFrom('', 'g'),
      status: statusArb,
      expired: fc.boolean(),
      remove: fc.boolean(),
      createdAt: fc.integer({ min: 0, max: 100 }),
    });
    fc.assert(
      fc.property(fc.array(jobArb, { maxLength: 80 }), (ops) => {
        const index = new GaugeIndex(60_000, () => 0);
        const view = new Map<number, JobState>();
        for (const op of ops) {
          const previous = view.get(op.jobId);
          const next: JobState | undefined = op.remove
            ? undefined
            : {
                ...jobState({
                  jobId: op.jobId,
                  status: op.status,
                  labels: op.labels,
                  runnerGroup: op.runnerGroup,
                  createdAt: op.createdAt * 1000,
                }),
                expiredAt: op.expired ? 1 : null,
              };
          index.upsertJob(previous, next);
          if (next) view.set(op.jobId, next);
          else view.delete(op.jobId);
        }
        const served = new Map<string, number>();
        for (const s of index.snapshot().jobs) {
          if (s.value === 0) continue;
          const l = s.labels;
          served.set(JSON.stringify([l.repository, l.workflow, l.runner_group, l.labels, l.status]), s.value);
        }
        expect(served).toEqual(fromScratch(view.values()));
        // Oldest queued: the minimum created_at of queued, unexpired jobs per label set.
        for (const s of index.snapshot().oldestQueued) {
          const queued = [...view.values()].filter(
            (j) =>
              j.status === 'queued' &&
              j.expiredAt === null &&
              j.runnerGroup === s.labels.runner_group &&
              j.labels === s.labels.labels,
          );
          const expected =
            queued.length === 0 ? 0 : Math.min(...queued.map((j) => Math.floor(j.createdAt! / 1000)));
          expect(s.value).toBe(expected);
        }
        expect(ACTIVE_JOB_STATUSES).not.toContain('completed');
      }),
      { numRuns: 300 },
    );
  });

  it('keeps an emptied label set at 0 for the retention window, then drops it', () => {
    let now = 0;
    const index = new GaugeIndex(1000, () => now);
    const queued = jobState();
    index.upsertJob(undefined, queued);
    const done: JobState = {
      ...queued,
      status: 'completed',
      conclusion: 'success',
      runnerGroup: 'Default',
      startedAt: 1_030_000,
      completedAt: 1_090_000,
      completedSeenAt: 0,
    };
    index.upsertJob(queued, done);
    expect(index.snapshot().jobs).toEqual([
      {
        labels: {
          repository: 'o/r',
          workflow: 'CI',
          runner_group: '',
          labels: 'ubuntu-latest',
          status: 'queued',
        },
        value: 0,
      },
    ]);
    now = 1001;
    expect(index.snapshot().jobs).toEqual([]);
  });
});
