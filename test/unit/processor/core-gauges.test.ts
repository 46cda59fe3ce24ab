// The incremental GaugeIndex against the from-scratch computeGauges on random views:
// runs and jobs inserted, moved between statuses and label sets, expired, completed
// and removed in any order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeGauges, GaugeIndex, type GaugeSample } from '../../../processor/core/gauges.js';
import type { JobState, JobStatus, RunState, RunStatus } from '../../../processor/core/types.js';

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
